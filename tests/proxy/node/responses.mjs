// The Responses API through the official OpenAI Node SDK, for each model of BYOKGATE_MODELS: a plain
// answer, a raw stream and the SDK's stream helper, a function call and its result sent back with
// previous_response_id (also streamed), then retrieve, input items, delete. Prints one JSON report, its
// keys `<model>/<step>`.
import { API_KEY, BASE_URL, MODELS, Report, WEATHER, load, outputText } from './common.mjs';

const { OpenAI } = load('openai');
const client = new OpenAI({ baseURL: BASE_URL(), apiKey: API_KEY(), maxRetries: 0, timeout: 60_000 });
const report = new Report();

async function run(model) {
  const step = (name, fn) => report.step(`${model}/${name}`, fn);

  const plain = await step('plain', async () => {
    const { data, response } = await client.responses
      .create({ model, input: 'Tell me about the sea.', instructions: 'Be brief.' })
      .withResponse();
    return {
      id: data.id,
      object: data.object,
      status: data.status,
      model: data.model,
      instructions: data.instructions,
      output_text: data.output_text,
      output_types: data.output.map((item) => item.type),
      output_tokens: data.usage?.output_tokens ?? null,
      provider: response.headers.get('x-byokgate-provider'),
      cost: response.headers.get('x-byokgate-cost-usd'),
    };
  });

  await step('stream', async () => {
    const stream = await client.responses.create({
      model,
      input: 'Tell me about the sea.',
      instructions: 'Be brief.',
      stream: true,
    });
    const types = [];
    const sequence = [];
    let deltas = '';
    let final = null;
    for await (const event of stream) {
      types.push(event.type);
      sequence.push(event.sequence_number);
      if (event.type === 'response.output_text.delta') deltas += event.delta;
      if (event.type === 'response.completed') final = event.response;
    }
    return {
      types,
      sequence,
      deltas,
      final_id: final?.id ?? null,
      final_status: final?.status ?? null,
      final_text: final ? outputText(final.output) : null,
      final_output_tokens: final?.usage?.output_tokens ?? null,
    };
  });

  await step('stream_helper', async () => {
    const stream = client.responses.stream({ model, input: 'Tell me about the sea.' });
    let deltas = '';
    for await (const event of stream) {
      if (event.type === 'response.output_text.delta') deltas += event.delta;
    }
    const final = await stream.finalResponse();
    return { deltas, output_text: final.output_text, status: final.status };
  });

  const first = await step('tool_call', async () => {
    const data = await client.responses.create({
      model,
      input: "What's the weather in Paris?",
      tools: [WEATHER],
    });
    const calls = data.output.filter((item) => item.type === 'function_call');
    return {
      id: data.id,
      status: data.status,
      calls: calls.map((call) => ({
        name: call.name,
        call_id: call.call_id,
        arguments: JSON.parse(call.arguments),
        status: call.status,
      })),
    };
  });

  if (first?.calls?.length) {
    await step('tool_result', async () => {
      const data = await client.responses.create({
        model,
        previous_response_id: first.id,
        input: [{ type: 'function_call_output', call_id: first.calls[0].call_id, output: 'Sunny, 21 C' }],
        tools: [WEATHER],
      });
      return {
        id: data.id,
        previous_response_id: data.previous_response_id,
        status: data.status,
        output_text: data.output_text,
        output_types: data.output.map((item) => item.type),
      };
    });
  }

  await step('tool_stream', async () => {
    const stream = await client.responses.create({
      model,
      input: "What's the weather in Paris?",
      tools: [WEATHER],
      stream: true,
    });
    const types = [];
    let deltas = '';
    let done = null;
    let final = null;
    for await (const event of stream) {
      types.push(event.type);
      if (event.type === 'response.function_call_arguments.delta') deltas += event.delta;
      if (event.type === 'response.function_call_arguments.done') done = event.arguments;
      if (event.type === 'response.completed') final = event.response;
    }
    const call = final?.output.find((item) => item.type === 'function_call');
    return {
      types,
      arguments_from_deltas: deltas ? JSON.parse(deltas) : null,
      arguments_done: done === null ? null : JSON.parse(done),
      final_call: call ? { name: call.name, status: call.status, arguments: JSON.parse(call.arguments) } : null,
    };
  });

  if (!plain) return;
  await step('retrieve', async () => {
    const data = await client.responses.retrieve(plain.id);
    return { id: data.id, status: data.status, output_text: data.output_text };
  });

  await step('input_items', async () => {
    const items = [];
    for await (const item of client.responses.inputItems.list(plain.id)) {
      items.push({
        type: item.type,
        role: item.role ?? null,
        content: (item.content ?? []).map((part) => ({ type: part.type, text: part.text ?? null })),
      });
    }
    return items;
  });

  await step('delete', async () => {
    const deleted = await client.responses.delete(plain.id);
    return { returned: deleted === undefined ? null : deleted };
  });

  await report.expectError(`${model}/retrieve_deleted`, () => client.responses.retrieve(plain.id));
}

for (const model of MODELS()) await run(model);
report.print();
