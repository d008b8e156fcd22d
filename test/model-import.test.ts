// Bringing a base model: tiny random checkpoints written by `transformers` itself (gpu-worker/trainer/tests/
// tiny_checkpoints.py, in the import environment .venv) are imported through the CLI against the real platform
// process, as an operator would (`tailor models import <dir> --name <id> --wait`). Then the `openai` client chats
// with one, /v1/score's NLL equals transformers' forward pass on the same text, two bases answer side by side,
// and every refusal (an unsupported rotary scaling, pickled weights, a name taken, a path outside the roots)
// names what is wrong and queues nothing.
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { IMPORT_PYTHON } from '../gpu-worker/import-model.js';
import { TRAINER_DIR } from '../gpu-worker/trainer-process.js';
import { heldoutMaterial } from '../runtime/demo/readers.js';
import { type RunningServer, startServer } from '../runtime/node/launch.js';
import { ADMIN } from './support/platform.js';
import { callJson } from './support/processes.js';

let server: RunningServer;
let dataDir: string;
let checkpoints: string;
let app: { app_id: string; api_key: string };

/** One retry when the idle keep-alive socket was closed by the server while the test waited on Python. */
const call = (method: string, path: string, key: string, body?: unknown) =>
  callJson(server.url, method, path, key, body).catch((e: Error & { cause?: { code?: string } }) => {
    if (e.cause?.code !== 'UND_ERR_SOCKET') throw e;
    return callJson(server.url, method, path, key, body);
  });

/** `npm run tailor -- ...` against the server: stdout, stderr and the exit code. */
function tailor(...args: string[]) {
  const r = spawnSync('npx', ['tsx', 'runtime/node/cli.ts', ...args], {
    env: { ...process.env, TAILOR_URL: server.url, ADMIN_TOKEN: ADMIN },
    encoding: 'utf8',
    timeout: 240_000,
  });
  return { out: r.stdout, err: r.stderr, code: r.status };
}

/** transformers' NLL (nats, summed) of `ids[1:]` given what precedes each, on the checkpoint in `dir`. */
function transformersNll(dir: string, ids: number[]): number {
  const script = `
import json, sys, torch
from transformers import AutoModelForCausalLM
m = AutoModelForCausalLM.from_pretrained(sys.argv[1], dtype=torch.float32).eval()
ids = torch.tensor([json.loads(sys.argv[2])])
with torch.no_grad():
    logits = m(ids).logits[0, :-1]
print(float(torch.nn.functional.cross_entropy(logits, ids[0, 1:], reduction="sum")))`;
  return Number(execFileSync(IMPORT_PYTHON, ['-c', script, dir, JSON.stringify(ids)], { encoding: 'utf8' }));
}

beforeAll(async () => {
  execFileSync('bash', ['scripts/setup-venv.sh'], { stdio: 'inherit' });
  checkpoints = mkdtempSync(join(tmpdir(), 'tailor-checkpoints-'));
  execFileSync(
    IMPORT_PYTHON,
    ['-m', 'tests.tiny_checkpoints', checkpoints, 'llama-tied', 'qwen2', 'mistral', 'llama2-sentencepiece'],
    {
      cwd: TRAINER_DIR,
      stdio: ['ignore', 'ignore', 'inherit'],
    },
  );
  dataDir = mkdtempSync(join(tmpdir(), 'tailor-import-'));
  server = await startServer({
    TAILOR_DATA_DIR: dataDir,
    ADMIN_TOKEN: ADMIN,
    DATABASE_URL: '',
    S3_BUCKET: '',
    S3_ENDPOINT: '',
    ENGINE_THREADS: '1',
    TAILOR_SCHEDULE: '0',
    TAILOR_IMPORT_ROOTS: checkpoints,
    RATE_LIMIT_PER_MINUTE: '0',
    RATE_LIMIT_PER_USER_PER_MINUTE: '0',
  });
  app = (await call('POST', '/admin/apps', ADMIN, { name: 'bases' })).json;
}, 300_000);
afterAll(async () => {
  await server?.stop();
  for (const d of [dataDir, checkpoints]) if (d) rmSync(d, { recursive: true, force: true });
});

describe('importing a checkpoint through the CLI', () => {
  it('imports, checks against transformers and serves it: the openai client chats with it', async () => {
    const r = tailor('models', 'import', join(checkpoints, 'llama-tied'), '--name', 'tiny-llama', '--wait');
    expect(r.code, r.err).toBe(0);
    expect(r.out).toMatch(/tiny-llama is ready/);
    const parity = Number(/max \|Δlogits\| (\S+)/.exec(r.out)?.[1]);
    expect(parity).toBeLessThanOrEqual(1e-4);
    expect(r.out).toMatch(/bits per byte/);

    const client = // retries: the test's idle keep-alive socket may be closed by the server while the import runs
      new OpenAI({ baseURL: `${server.url}/v1`, apiKey: app.api_key, maxRetries: 2 });
    expect((await client.models.list()).data.map((m) => m.id)).toEqual(['brown-4m', 'tiny-llama']);
    const chat = await client.chat.completions.create({
      model: 'tiny-llama',
      user: 'reader-1',
      messages: [{ role: 'user', content: 'Tell me a story.' }],
      max_tokens: 8,
    });
    expect(chat.model).toBe('tiny-llama');
    expect(chat.usage?.completion_tokens).toBeGreaterThan(0);
    // The prompt is the checkpoint's chat template rendered (its leading BOS is the engine's own)
    const tok = JSON.parse(readFileSync(join(checkpoints, 'llama-tied', 'tokenizer.json'), 'utf8'));
    const { Tokenizer } = await import('@huggingface/tokenizers');
    const rendered = 'user: Tell me a story.\nassistant:';
    const ids = new Tokenizer(tok, {}).encode(rendered, { add_special_tokens: false }).ids;
    expect(chat.usage?.prompt_tokens).toBe(ids.length);
  }, 300_000);

  it("scores texts with the imported base's NLL, equal to transformers' forward pass", async () => {
    const text = 'The rain had stopped when she reached the door.';
    const scored = await call('POST', '/v1/score', app.api_key, {
      user: 'u',
      texts: [text],
      model: 'tiny-llama',
    });
    expect(scored.status).toBe(200);
    // the ids the platform scored: BOS (this tokenizer adds one), then the text's tokens
    const tok = JSON.parse(readFileSync(join(checkpoints, 'llama-tied', 'tokenizer.json'), 'utf8'));
    const { Tokenizer } = await import('@huggingface/tokenizers');
    const ids = [0, ...new Tokenizer(tok, {}).encode(text, { add_special_tokens: false }).ids];
    expect(scored.json.results[0].tokens).toBe(ids.length - 1);
    expect(scored.json.results[0].nll).toBeCloseTo(transformersNll(join(checkpoints, 'llama-tied'), ids), 3);
  }, 120_000);

  it('serves two bases side by side, and a Qwen2 base imported by path', async () => {
    const queued = await call('POST', '/admin/models', ADMIN, {
      name: 'tiny-qwen2',
      path: join(checkpoints, 'qwen2'),
    });
    expect(queued.status, JSON.stringify(queued.json)).toBe(202);
    expect(queued.json.checkpoint).toMatchObject({ family: 'qwen2', addBos: false });
    for (let i = 0; i < 240; i++) {
      const listed = await call('GET', '/admin/models', ADMIN);
      const job = listed.json.imports.find((j: { id: string }) => j.id === queued.json.job.id);
      if (job.status === 'failed') throw new Error(job.error);
      if (job.status === 'succeeded') break;
      await new Promise((res) => setTimeout(res, 500));
    }
    const answers = await Promise.all(
      ['brown-4m', 'tiny-llama', 'tiny-qwen2'].map((model) =>
        call('POST', '/v1/generate', app.api_key, { user: 'u', prompt: 'Once', max_tokens: 4, model }),
      ),
    );
    for (const a of answers) expect(a.status, JSON.stringify(a.json)).toBe(200);
    expect(answers.map((a) => a.json.model)).toEqual(['brown-4m', 'tiny-llama', 'tiny-qwen2']);
    const once = { user: 'u', prompt: 'Once', max_tokens: 2 };
    expect((await call('POST', '/v1/generate', app.api_key, once)).json.model).toBe('brown-4m');
    // a device downloads any base's package
    const files = await call('GET', '/v1/models/tiny-qwen2/files', app.api_key);
    expect(files.status).toBe(200);
    expect(files.json.files.map((f: { name: string }) => f.name)).toContain('model.onnx');
  }, 300_000);

  it("an app's model.base picks the base of requests that name none, and lists it first", async () => {
    const settings = `/admin/apps/${app.app_id}/settings`;
    const unknown = await call('PATCH', settings, ADMIN, { model: { base: 'gpt-9' } });
    expect(unknown.status).toBe(422);
    expect(JSON.stringify(unknown.json)).toMatch(/gpt-9 is not published/);
    expect((await call('PATCH', settings, ADMIN, { model: { base: 'tiny-qwen2' } })).status).toBe(200);
    const once = { user: 'u', prompt: 'Once', max_tokens: 2 };
    expect((await call('POST', '/v1/generate', app.api_key, once)).json.model).toBe('tiny-qwen2');
    expect((await call('GET', '/v1/models', app.api_key)).json.data[0].id).toBe('tiny-qwen2');
    await call('PATCH', settings, ADMIN, { model: { base: null } });
    expect((await call('POST', '/v1/generate', app.api_key, once)).json.model).toBe('brown-4m');
  });
});

describe('an int8 base', () => {
  it('imports with --quantize int8, checked against transformers, and serves on wasm', async () => {
    const r = tailor(
      'models',
      'import',
      join(checkpoints, 'llama2-sentencepiece'),
      '--name',
      'tiny-llama2-int8',
      '--quantize',
      'int8',
      '--wait',
    );
    expect(r.code, r.err).toBe(0);
    expect(r.out).toMatch(/int8 {7}max \|Δlogits\| \S+, next token agrees \d+ %/);
    const g = await call('POST', '/v1/generate', app.api_key, {
      user: 'u',
      prompt: 'Once upon a time',
      max_tokens: 6,
      model: 'tiny-llama2-int8',
    });
    expect(g.status, JSON.stringify(g.json)).toBe(200);
    expect(g.json.model).toBe('tiny-llama2-int8');
    expect(g.json.usage.completion_tokens).toBeGreaterThan(0);
  }, 300_000);
});

describe('readers trained on an imported base', () => {
  it('trains a reader of an app on its model.base, publishes, and serves the adapter there only', async () => {
    const other = (await call('POST', '/admin/apps', ADMIN, { name: 'on-llama' })).json;
    await call('PATCH', `/admin/apps/${other.app_id}/settings`, ADMIN, { model: { base: 'tiny-llama' } });
    const [story] = heldoutMaterial({ stories: 1 }).stories;
    if (!story) throw new Error('no held-out story');
    for (const [i, text] of story.liked.slice(0, 20).entries()) {
      const r = await call('POST', '/v1/feedback', other.api_key, {
        user: 'reader',
        text,
        rating: 1,
        idempotency_key: `l${i}`,
      });
      expect(r.status).toBe(201);
    }
    const run = await call('POST', '/admin/training/run', ADMIN, { wait: true, app: other.app_id });
    expect(run.status).toBe(200);
    const [job] = run.json.jobs;
    expect(job.status, job.error ?? '').toBe('succeeded');
    expect(job.payload.baseModel).toBe('tiny-llama');
    const trained = job.result.users[0];
    expect(trained).toMatchObject({ user: 'reader', status: 'active' });
    const body = { user: 'reader', prompt: 'The detective opened the door and', max_tokens: 8, seed: 1 };
    const served = await call('POST', '/v1/generate', other.api_key, body);
    expect(served.json).toMatchObject({ model: 'tiny-llama', adapter: { version: trained.version } });
    // never applied to another base: that base answers alone, saying why
    const elsewhere = await call('POST', '/v1/generate', other.api_key, { ...body, model: 'brown-4m' });
    expect(elsewhere.json.adapter).toBeNull();
    expect(elsewhere.json.adapter_fallback.reason).toMatch(
      /^other_base: the adapters are trained on tiny-llama/,
    );
  }, 600_000);
});

describe('refusals name what is wrong and queue nothing', () => {
  const jobs = async () => (await call('GET', '/admin/models', ADMIN)).json.imports.length;

  it('an unsupported rotary scaling', async () => {
    const dir = join(checkpoints, 'mistral');
    const config = JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8'));
    config.rope_parameters = { rope_type: 'yarn', factor: 4, rope_theta: 10000 };
    writeFileSync(join(dir, 'config.json'), JSON.stringify(config));
    const before = await jobs();
    const r = tailor('models', 'import', dir, '--name', 'tiny-mistral');
    expect(r.code).not.toBe(0);
    expect(r.err).toMatch(/rope_scaling\.type "yarn" is not supported/);
    expect(await jobs()).toBe(before);
  }, 120_000);

  it('pickled weights', async () => {
    const r = await fetch(`${server.url}/admin/model-uploads/u1/pytorch_model.bin`, {
      method: 'PUT',
      headers: { authorization: `Bearer ${ADMIN}` },
      body: new Uint8Array(16),
    });
    expect(r.status).toBe(422);
    expect(((await r.json()) as { error: { message: string } }).error.message).toMatch(/never unpickled/);
  });

  it('a name taken, a path outside the roots, an unknown model', async () => {
    const taken = await call('POST', '/admin/models', ADMIN, {
      name: 'tiny-llama',
      path: join(checkpoints, 'qwen2'),
    });
    expect(taken.status).toBe(409);
    const outside = await call('POST', '/admin/models', ADMIN, { name: 'etc', path: '/etc' });
    expect(outside.status).toBe(422);
    expect(outside.json.error.message).toMatch(/outside the import roots/);
    const unknown = await call('POST', '/v1/generate', app.api_key, {
      user: 'u',
      prompt: 'x',
      model: 'gpt-9',
    });
    expect(unknown.status).toBe(404);
  });
});
