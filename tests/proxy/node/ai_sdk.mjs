// The Vercel AI SDK against the gateway: `createOpenAI({baseURL, apiKey})`, whose `openai(model)` speaks
// the Responses API, for each model of BYOKGATE_MODELS: generateText, then a tool the SDK executes itself
// (the model calls it, the SDK sends the result back in a second step), with generateText and with
// streamText (every part type of the full stream kept). Prints one JSON report, its keys
// `<model>/<step>`.
import { API_KEY, BASE_URL, MODELS, Report, load } from './common.mjs';

const { generateText, streamText, stepCountIs, tool } = load('ai');
const { createOpenAI } = load('@ai-sdk/openai');
const { z } = load('zod');

const requests = []; // what the SDK sent: method, path, the Responses body's input item types
async function recordingFetch(url, init) {
  let body = null;
  try {
    body = init?.body ? JSON.parse(init.body) : null;
  } catch {
    body = null;
  }
  requests.push({
    method: init?.method ?? 'GET',
    path: new URL(url).pathname,
    input_types: Array.isArray(body?.input) ? body.input.map((item) => item.type ?? item.role) : null,
    previous_response_id: body?.previous_response_id ?? null,
  });
  return fetch(url, init);
}

const openai = createOpenAI({ baseURL: BASE_URL(), apiKey: API_KEY(), fetch: recordingFetch });
const report = new Report();
const weather = () =>
  tool({
    description: 'Current weather for a city',
    inputSchema: z.object({ city: z.string() }),
    execute: async ({ city }) => `Sunny, 21 C in ${city}`,
  });

for (const model of MODELS()) {
  const step = (name, fn) => report.step(`${model}/${name}`, fn);

  await step('generate', async () => {
    const result = await generateText({ model: openai(model), prompt: 'Tell me about the sea.', maxRetries: 0 });
    return {
      text: result.text,
      finish_reason: result.finishReason,
      output_tokens: result.usage?.outputTokens ?? null,
      response_id: result.response?.id ?? null,
      provider: result.response?.headers?.['x-byokgate-provider'] ?? null,
      sent: requests.at(-1),
    };
  });

  await step('generate_tool', async () => {
    const first = requests.length;
    const result = await generateText({
      model: openai(model),
      prompt: "What's the weather in Paris?",
      tools: { get_weather: weather() },
      stopWhen: stepCountIs(3),
      maxRetries: 0,
    });
    return {
      text: result.text,
      finish_reason: result.finishReason,
      steps: result.steps.length,
      calls: result.steps.flatMap((s) => s.toolCalls).map((c) => ({ name: c.toolName, input: c.input })),
      results: result.steps.flatMap((s) => s.toolResults).map((r) => r.output),
      sent: requests.slice(first),
    };
  });

  await step('stream_tool', async () => {
    const first = requests.length;
    const errors = [];
    const result = streamText({
      model: openai(model),
      prompt: "What's the weather in Paris?",
      tools: { get_weather: weather() },
      stopWhen: stepCountIs(3),
      maxRetries: 0,
      onError: ({ error }) => errors.push(String(error?.message ?? error)),
    });
    const types = [];
    const calls = [];
    const results = [];
    let text = '';
    for await (const part of result.fullStream) {
      types.push(part.type);
      if (part.type === 'text-delta') text += part.text ?? part.textDelta ?? '';
      if (part.type === 'tool-call') calls.push({ name: part.toolName, input: part.input });
      if (part.type === 'tool-result') results.push(part.output);
      if (part.type === 'error') errors.push(String(part.error?.message ?? part.error));
    }
    if (errors.length) throw new Error(`the stream carried errors: ${errors.join(' | ')}`);
    return {
      types,
      text,
      final_text: await result.text,
      finish_reason: await result.finishReason,
      calls,
      results,
      sent: requests.slice(first),
    };
  });
}

report.print();
