// byokgate dashboard: the copy buttons (no inline script: the pages' Content-Security-Policy forbids it).
document.addEventListener("click", (event) => {
  const button = event.target.closest("[data-copy]");
  if (!button) return;
  const id = button.getAttribute("data-copy");
  const text = document.getElementById(id).textContent.trim();
  navigator.clipboard.writeText(text).then(() => {
    const done = document.querySelector(`[data-copied="${id}"]`);
    if (done) done.hidden = false;
  });
});
