// byokgate dashboard: the playground. The project key lives in this closure only (never stored).
(() => {
  const root = document.getElementById("pg");
  if (!root) return;
  const $ = (id) => document.getElementById(id);
  const project = root.dataset.project;
  let key = "";

  const showError = (message) => { const e = $("pg-error"); e.textContent = message; e.hidden = !message; };

  async function loadModels() {
    const select = $("pg-model");
    select.disabled = true;
    $("pg-send").disabled = true;
    const answer = await fetch("/v1/models", { headers: { authorization: `Bearer ${key}` } });
    if (!answer.ok) {
      $("pg-key-status").textContent = answer.status === 401 ? "The gateway does not accept that key." : `The gateway answered ${answer.status}.`;
      return;
    }
    const models = (await answer.json()).data.map((m) => m.id).sort();
    select.replaceChildren(...models.map((id) => new Option(id, id)));
    select.disabled = models.length === 0;
    $("pg-send").disabled = models.length === 0;
    $("pg-key-status").textContent = models.length ? `${models.length} models reachable with this key.` : "No model is reachable: add a provider key first.";
  }

  $("pg-key").addEventListener("change", () => { key = $("pg-key").value.trim(); $("pg-key").value = ""; if (key) loadModels(); });
  const make = $("pg-new-key");
  if (make) make.addEventListener("click", async () => {
    const answer = await fetch(`/dashboard/projects/${project}/playground/key`, { method: "POST", headers: { "x-csrf-token": root.dataset.csrf } });
    if (!answer.ok) { showError(`Could not make a key (${answer.status}).`); return; }
    key = (await answer.json()).key;
    $("pg-key").placeholder = "a new playground key (expires in a day)";
    await loadModels();
  });

  // A stream's cost and tokens are known when it ends: the request's generation record has them.
  async function showGeneration(id) {
    const cost = $("pg-facts").querySelector('[data-fact="x-byokgate-cost-usd"]');
    const found = await fetch(`/v1/generations/${encodeURIComponent(id)}`, { headers: { authorization: `Bearer ${key}` } });
    if (!found.ok) { if (cost.textContent === "-") cost.textContent = "in the trace"; return; }
    const generation = await found.json();
    cost.textContent = generation.cost_usd ?? "not priced";
    const usage = generation.usage || {};
    if (usage.total_tokens != null) $("pg-tokens").textContent = `${usage.prompt_tokens} in, ${usage.completion_tokens} out`;
  }

  $("pg-send").addEventListener("click", async () => {
    showError("");
    $("pg-facts").hidden = true;
    const out = $("pg-answer");
    out.textContent = "";
    $("pg-send").disabled = true;
    try {
      const answer = await fetch("/v1/chat/completions", {
        method: "POST",
        headers: { authorization: `Bearer ${key}`, "content-type": "application/json" },
        body: JSON.stringify({ model: $("pg-model").value, stream: true, messages: [{ role: "user", content: $("pg-prompt").value }] }),
      });
      for (const dd of document.querySelectorAll("[data-fact]")) dd.textContent = answer.headers.get(dd.dataset.fact) || "-";
      const id = answer.headers.get("x-byokgate-request-id");
      $("pg-tokens").textContent = "-";
      $("pg-trace").href = `/dashboard/projects/${project}/requests/${id}`;
      if (!answer.ok) { showError((await answer.json()).error?.message || `The gateway answered ${answer.status}.`); $("pg-facts").hidden = false; return; }
      const reader = answer.body.pipeThrough(new TextDecoderStream()).getReader();
      let buffered = "";
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        buffered += value;
        const events = buffered.split("\n\n");
        buffered = events.pop();
        for (const event of events) {
          const data = event.split("\n").filter((l) => l.startsWith("data: ")).map((l) => l.slice(6)).join("");
          if (!data || data === "[DONE]") continue;
          const delta = JSON.parse(data).choices?.[0]?.delta?.content;
          if (delta) out.textContent += delta;
        }
      }
      if (id) await showGeneration(id);
      $("pg-facts").hidden = false;
    } catch (error) {
      showError(String(error));
    } finally {
      $("pg-send").disabled = false;
    }
  });
})();
