// The rest of the OpenAI API through the official OpenAI Node SDK: chat completions (plain and streamed,
// for each model of BYOKGATE_MODELS), embeddings (the SDK asks for base64 and decodes it), the models
// list and one model, legacy completions, images (generated as b64_json, edited from a PNG upload),
// an audio transcription of a WAV upload, speech read as a binary body, moderations, and a wrong project
// key. Prints one JSON report.
import { API_KEY, BASE_URL, MODELS, Report, load } from './common.mjs';

const { OpenAI, toFile } = load('openai');
const options = { baseURL: BASE_URL(), maxRetries: 0, timeout: 60_000 };
const client = new OpenAI({ ...options, apiKey: API_KEY() });
const report = new Report();

const CRC_TABLE = Array.from({ length: 256 }, (_, n) => {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  return c >>> 0;
});

function crc32(bytes) {
  let c = 0xffffffff;
  for (const byte of bytes) c = CRC_TABLE[(c ^ byte) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

/** A real 4x4 red RGBA PNG. */
async function png() {
  const { deflateSync } = await import('node:zlib');
  const chunk = (kind, data) => {
    const head = Buffer.alloc(4);
    head.writeUInt32BE(data.length);
    const body = Buffer.concat([Buffer.from(kind, 'latin1'), data]);
    const tail = Buffer.alloc(4);
    tail.writeUInt32BE(crc32(body));
    return Buffer.concat([head, body, tail]);
  };
  const header = Buffer.alloc(13);
  header.writeUInt32BE(4, 0);
  header.writeUInt32BE(4, 4);
  header.set([8, 6, 0, 0, 0], 8);
  const row = Buffer.from([0, ...Array(4).fill([0xff, 0, 0, 0xff]).flat()]);
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk('IHDR', header),
    chunk('IDAT', deflateSync(Buffer.concat([row, row, row, row]))),
    chunk('IEND', Buffer.alloc(0)),
  ]);
}

/** A real WAV file: `seconds` of silence, 16 kHz mono, 16-bit. */
function wav(seconds) {
  const rate = 16_000;
  const data = Buffer.alloc(rate * 2 * seconds);
  const header = Buffer.alloc(44);
  header.write('RIFF', 0, 'latin1');
  header.writeUInt32LE(36 + data.length, 4);
  header.write('WAVEfmt ', 8, 'latin1');
  header.writeUInt32LE(16, 16);
  header.writeUInt16LE(1, 20); // PCM
  header.writeUInt16LE(1, 22); // mono
  header.writeUInt32LE(rate, 24);
  header.writeUInt32LE(rate * 2, 28);
  header.writeUInt16LE(2, 32);
  header.writeUInt16LE(16, 34);
  header.write('data', 36, 'latin1');
  header.writeUInt32LE(data.length, 40);
  return Buffer.concat([header, data]);
}

for (const model of MODELS()) {
  await report.step(`chat/${model}`, async () => {
    const { data, response } = await client.chat.completions
      .create({ model, messages: [{ role: 'user', content: 'Tell me about the sea.' }] })
      .withResponse();
    return {
      id: data.id,
      object: data.object,
      content: data.choices[0].message.content,
      finish_reason: data.choices[0].finish_reason,
      completion_tokens: data.usage?.completion_tokens ?? null,
      provider: response.headers.get('x-byokgate-provider'),
    };
  });

  await report.step(`chat_stream/${model}`, async () => {
    const stream = await client.chat.completions.create({
      model,
      messages: [{ role: 'user', content: 'Tell me about the sea.' }],
      stream: true,
      stream_options: { include_usage: true },
    });
    let text = '';
    let chunks = 0;
    let finish = null;
    let usage = null;
    for await (const chunk of stream) {
      chunks += 1;
      const choice = chunk.choices[0];
      if (choice?.delta?.content) text += choice.delta.content;
      if (choice?.finish_reason) finish = choice.finish_reason;
      if (chunk.usage) usage = chunk.usage;
    }
    return { text, chunks, finish_reason: finish, completion_tokens: usage?.completion_tokens ?? null };
  });
}

for (const model of ['text-embedding-3-small', 'text-embedding-004']) {
  await report.step(`embeddings/${model}`, async () => {
    const data = await client.embeddings.create({ model, input: ['the sea', 'the sky'] });
    return {
      object: data.object,
      count: data.data.length,
      dimensions: data.data.map((item) => item.embedding.length),
      all_numbers: data.data.every((item) => item.embedding.every((x) => typeof x === 'number' && Number.isFinite(x))),
      prompt_tokens: data.usage?.prompt_tokens ?? null,
    };
  });
}

await report.step('models', async () => {
  const ids = [];
  for await (const model of client.models.list()) ids.push(model.id);
  const one = await client.models.retrieve('gpt-4o');
  return { ids, retrieved: { id: one.id, object: one.object, owned_by: one.owned_by } };
});

await report.expectError('model_missing', () => client.models.retrieve('no-such-model-anywhere'));

// The models this script calls on the other endpoints: are they listed, can they be retrieved? (An
// observation, not a failure of the script: the test decides.)
await report.step('media_models', async () => {
  const ids = new Set();
  for await (const model of client.models.list()) ids.add(model.id);
  const served = ['gpt-3.5-turbo-instruct', 'dall-e-3', 'dall-e-2', 'whisper-1', 'tts-1', 'omni-moderation-latest'];
  const retrieved = {};
  for (const id of served) {
    try {
      retrieved[id] = (await client.models.retrieve(id)).id === id ? 200 : 'other id';
    } catch (error) {
      retrieved[id] = error?.status ?? String(error);
    }
  }
  return { listed: served.filter((id) => ids.has(id)), retrieved };
});

await report.step('completions', async () => {
  const data = await client.completions.create({ model: 'gpt-3.5-turbo-instruct', prompt: 'Say hi', max_tokens: 20 });
  return { object: data.object, text: data.choices[0].text, completion_tokens: data.usage?.completion_tokens ?? null };
});

await report.step('images_generate', async () => {
  const data = await client.images.generate({
    model: 'dall-e-3',
    prompt: 'A lighthouse',
    size: '1024x1792',
    quality: 'hd',
    response_format: 'b64_json',
  });
  const bytes = Buffer.from(data.data[0].b64_json, 'base64');
  return { count: data.data.length, png: bytes.subarray(1, 4).toString('latin1') === 'PNG', bytes: bytes.length };
});

await report.step('images_edit', async () => {
  const image = await toFile(await png(), 'in.png', { type: 'image/png' });
  const data = await client.images.edit({ image, prompt: 'Make it blue', model: 'dall-e-2', n: 2, size: '256x256' });
  return { count: data.data.length, kinds: data.data.map((item) => (item.b64_json ? 'b64_json' : item.url ? 'url' : null)) };
});

await report.step('transcription', async () => {
  const file = await toFile(wav(2), 'hello.wav', { type: 'audio/wav' });
  const data = await client.audio.transcriptions.create({ model: 'whisper-1', file, response_format: 'verbose_json' });
  return { text: data.text, duration: data.duration ?? null, language: data.language ?? null };
});

await report.step('speech', async () => {
  const response = await client.audio.speech.create({
    model: 'tts-1',
    voice: 'alloy',
    input: 'Hello world',
    response_format: 'wav',
  });
  const bytes = Buffer.from(await response.arrayBuffer());
  return {
    content_type: response.headers.get('content-type'),
    riff: bytes.subarray(0, 4).toString('latin1') === 'RIFF',
    bytes: bytes.length,
  };
});

await report.step('moderations', async () => {
  const data = await client.moderations.create({ input: 'I love the sea' });
  return { count: data.results.length, flagged: data.results[0].flagged, model: data.model };
});

const stranger = new OpenAI({ ...options, apiKey: 'byok-not-a-project-key' });
await report.expectError('wrong_key', () =>
  stranger.chat.completions.create({ model: 'gpt-4o', messages: [{ role: 'user', content: 'Hi' }] }),
);

report.print();
