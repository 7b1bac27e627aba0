// Shared by the Node scripts test_node_sdks.py runs: the packages from clients/ (`make clients`), the
// gateway's address and project key from the environment, and the report: every step runs on its own,
// its observations (or the error it threw) go into one JSON object printed on stdout, and the exit code
// is 1 when any step failed unexpectedly.
import { createRequire } from 'node:module';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
export const CLIENTS = process.env.BYOKGATE_CLIENTS_DIR || resolve(here, '..', '..', '..', 'clients');
export const load = createRequire(resolve(CLIENTS, 'package.json'));

export function env(name) {
  const value = process.env[name];
  if (!value) {
    process.stderr.write(`${name} is not set\n`);
    process.exit(2);
  }
  return value;
}

export const BASE_URL = () => env('BYOKGATE_BASE_URL'); // the gateway's /v1
export const API_KEY = () => env('BYOKGATE_API_KEY'); // the project key
export const MODELS = () => (process.env.BYOKGATE_MODELS || '').split(',').filter(Boolean); // may be empty

/** An error as the report shows it: its class, HTTP status and code when the SDK gives them. */
export function described(error) {
  return {
    name: error?.constructor?.name ?? typeof error,
    status: error?.status ?? null,
    code: error?.code ?? null,
    type: error?.type ?? null,
    message: String(error?.message ?? error),
  };
}

// BYOKGATE_STEPS (optional, comma-separated): run only the steps with one of these in their name's
// `/`-separated parts (a test that checks one thing on its own).
const ONLY = new Set((process.env.BYOKGATE_STEPS || '').split(',').filter(Boolean));
const wanted = (name) => !ONLY.size || name.split('/').some((part) => ONLY.has(part));

export class Report {
  constructor() {
    this.observed = {};
    this.failures = {};
  }

  /** Run one step; what it returns is recorded under `name`, what it throws under failures[name]. */
  async step(name, fn) {
    if (!wanted(name)) return undefined;
    try {
      this.observed[name] = await fn();
    } catch (error) {
      this.failures[name] = { ...described(error), stack: String(error?.stack ?? '') };
    }
    return this.observed[name];
  }

  /** Expect `fn` to throw; its error is the observation (not throwing is a failure). */
  async expectError(name, fn) {
    if (!wanted(name)) return undefined;
    return this.step(name, async () => {
      try {
        await fn();
      } catch (error) {
        return described(error);
      }
      throw new Error(`${name}: expected an error, the call succeeded`);
    });
  }

  print() {
    process.stdout.write(JSON.stringify({ ...this.observed, failures: this.failures }) + '\n');
    process.exitCode = Object.keys(this.failures).length ? 1 : 0;
  }
}

/** The text of the message items of a Responses API `output`. */
export function outputText(output) {
  return (output ?? [])
    .filter((item) => item.type === 'message')
    .flatMap((item) => item.content ?? [])
    .filter((part) => part.type === 'output_text')
    .map((part) => part.text)
    .join('');
}

export const WEATHER = {
  type: 'function',
  name: 'get_weather',
  description: 'Current weather for a city',
  parameters: {
    type: 'object',
    properties: { city: { type: 'string' } },
    required: ['city'],
    additionalProperties: false,
  },
  strict: true,
};
