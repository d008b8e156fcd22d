// OpenAI clients, unchanged, against the real platform process: the official `openai` package (completions
// and chat, streaming and not, with an app key naming the user and with a user token) and the AI SDK's OpenAI
// provider (chat, streaming and not). Texts come back, usage adds up to what /v1/generate counts for the same
// request, ids are generation ids that POST /v1/feedback takes, and a refusal surfaces as the client's error.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createOpenAI } from '@ai-sdk/openai';
import { generateText, streamText } from 'ai';
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { signUserToken } from '../functions/auth/jwt.js';
import { chatPrompt } from '../functions/openai/request.js';
import { type RunningServer, startServer } from '../runtime/node/launch.js';
import { ADMIN } from './support/platform.js';
import { callJson } from './support/processes.js';

let server: RunningServer;
let dataDir: string;
let app: { app_id: string; api_key: string; signing_secret: string };
let model: string;

const call = (method: string, path: string, key: string, body?: unknown) =>
  callJson(server.url, method, path, key, body);

/** What /v1/generate gives for the same prompt, user and seed: the usage the OpenAI answers must match. */
const generate = (user: string, prompt: string, max_tokens: number, seed: number) =>
  call('POST', '/v1/generate', app.api_key, { user, prompt, max_tokens, seed }).then((r) => r.json);

const feedback = (key: string, body: object) => call('POST', '/v1/feedback', key, { rating: 1, ...body });

beforeAll(async () => {
  dataDir = mkdtempSync(join(tmpdir(), 'tailor-openai-'));
  server = await startServer({
    TAILOR_DATA_DIR: dataDir,
    ADMIN_TOKEN: ADMIN,
    DATABASE_URL: '',
    S3_BUCKET: '',
    S3_ENDPOINT: '',
    ENGINE_THREADS: '1',
    TAILOR_WORKER: '0',
    RATE_LIMIT_PER_MINUTE: '0',
    RATE_LIMIT_PER_USER_PER_MINUTE: '0',
  });
  const created = await call('POST', '/admin/apps', ADMIN, { name: 'openai-clients' });
  expect(created.status).toBe(201);
  app = created.json;
  model = (await call('GET', '/healthz', app.api_key)).json.base_model ?? 'brown-4m';
}, 120_000);
afterAll(async () => {
  await server?.stop();
  if (dataDir) rmSync(dataDir, { recursive: true, force: true });
});

describe('the openai package', () => {
  const client = (apiKey: string) => new OpenAI({ baseURL: `${server.url}/v1`, apiKey, maxRetries: 0 });

  it('lists the models', async () => {
    const models = await client(app.api_key).models.list();
    expect(models.data.map((m) => m.id)).toContain(model);
  });

  it('completes with the app key naming the user, like /v1/generate, with a usable id', async () => {
    const prompt = 'The old house';
    const r = await client(app.api_key).completions.create({
      model,
      prompt,
      max_tokens: 8,
      seed: 3,
      user: 'reader-1',
    });
    const g = await generate('reader-1', prompt, 8, 3);
    expect(r.object).toBe('text_completion');
    expect(r.choices[0]?.text).toBe(g.text);
    expect(r.choices[0]?.text.length).toBeGreaterThan(0);
    expect(r.usage).toEqual({
      prompt_tokens: g.usage.prompt_tokens,
      completion_tokens: g.usage.completion_tokens,
      total_tokens: g.usage.prompt_tokens + g.usage.completion_tokens,
    });
    expect((await feedback(app.api_key, { user: 'reader-1', generation_id: r.id })).status).toBe(201);
  });

  it('streams a completion: the pieces make the text, then the usage chunk', async () => {
    const stream = await client(app.api_key).completions.create({
      model,
      prompt: 'At dawn',
      max_tokens: 8,
      seed: 4,
      user: 'reader-1',
      stream: true,
      stream_options: { include_usage: true },
    });
    let text = '';
    let usage: OpenAI.CompletionUsage | undefined | null;
    let id = '';
    for await (const chunk of stream) {
      id = chunk.id;
      text += chunk.choices[0]?.text ?? '';
      if (chunk.usage) usage = chunk.usage;
    }
    const g = await generate('reader-1', 'At dawn', 8, 4);
    expect(text).toBe(g.text);
    expect(usage?.completion_tokens).toBe(g.usage.completion_tokens);
    expect(usage?.total_tokens).toBe(g.usage.prompt_tokens + g.usage.completion_tokens);
    expect((await feedback(app.api_key, { user: 'reader-1', generation_id: id })).status).toBe(201);
  });

  it('chats with a user token, streaming and not', async () => {
    const token = await signUserToken(
      { sub: 'reader-2', exp: Math.floor(Date.now() / 1000) + 300 },
      app.signing_secret,
      app.app_id,
    );
    const messages = [
      { role: 'system' as const, content: 'A short story.' },
      { role: 'user' as const, content: 'The ship' },
    ];
    const r = await client(token).chat.completions.create({ model, messages, max_tokens: 8, seed: 5 });
    const g = await generate('reader-2', chatPrompt(messages), 8, 5);
    expect(r.object).toBe('chat.completion');
    expect(r.choices[0]?.message).toMatchObject({ role: 'assistant', content: g.text });
    expect(r.choices[0]?.message.content?.length).toBeGreaterThan(0);
    expect(r.usage?.prompt_tokens).toBe(g.usage.prompt_tokens);
    expect(r.usage?.completion_tokens).toBe(g.usage.completion_tokens);
    expect((await feedback(token, { generation_id: r.id })).status).toBe(201);

    const stream = await client(token).chat.completions.create({
      model,
      messages,
      max_tokens: 8,
      seed: 5,
      stream: true,
      stream_options: { include_usage: true },
    });
    let content = '';
    let usage: OpenAI.CompletionUsage | undefined | null;
    let finish: string | null | undefined;
    for await (const chunk of stream) {
      content += chunk.choices[0]?.delta.content ?? '';
      finish = chunk.choices[0]?.finish_reason ?? finish;
      if (chunk.usage) usage = chunk.usage;
    }
    expect(content).toBe(g.text);
    expect(finish).toBe(r.choices[0]?.finish_reason);
    expect(usage?.total_tokens).toBe(r.usage?.total_tokens);
  });

  it('reads log-probabilities: completions token_logprobs, chat logprobs.content, streamed through the thread', async () => {
    const c = client(app.api_key);
    const r = await c.completions.create({
      model,
      prompt: 'The old house',
      max_tokens: 8,
      temperature: 0,
      user: 'reader-1',
      logprobs: 2,
    });
    const lp = r.choices[0]?.logprobs;
    expect(lp?.token_logprobs?.length).toBeGreaterThan(0);
    expect(lp?.tokens).toHaveLength(lp?.token_logprobs?.length ?? -1);
    for (const [i, v] of (lp?.token_logprobs ?? []).entries()) {
      expect(v).toBeLessThanOrEqual(0);
      expect(Object.values(lp?.top_logprobs?.[i] ?? {})[0]).toBe(v); // greedy: the top alternative
    }
    const messages = [{ role: 'user' as const, content: 'The ship' }];
    const chat = await c.chat.completions.create({
      model,
      messages,
      max_tokens: 8,
      seed: 5,
      user: 'reader-1',
      logprobs: true,
      top_logprobs: 3,
    });
    const content = chat.choices[0]?.logprobs?.content ?? [];
    expect(content.length).toBeGreaterThan(0);
    for (const t of content) expect(t.top_logprobs).toHaveLength(3);
    expect(Buffer.from(content.flatMap((t) => t.bytes ?? [])).toString('utf8')).toBe(
      chat.choices[0]?.message.content,
    );
    const stream = await c.chat.completions.create({
      model,
      messages,
      max_tokens: 8,
      seed: 5,
      user: 'reader-1',
      logprobs: true,
      top_logprobs: 3,
      stream: true,
    });
    const streamed: OpenAI.ChatCompletionTokenLogprob[] = [];
    for await (const chunk of stream) streamed.push(...(chunk.choices[0]?.logprobs?.content ?? []));
    expect(streamed).toEqual(content);
  });

  it('n = 2: two choices, each a generation feedback takes, usage summed', async () => {
    const r = await client(app.api_key).completions.create({
      model,
      prompt: 'At dawn',
      max_tokens: 6,
      seed: 40,
      n: 2,
      user: 'reader-1',
    });
    expect(r.choices.map((c) => c.index)).toEqual([0, 1]);
    const gens = [await generate('reader-1', 'At dawn', 6, 40), await generate('reader-1', 'At dawn', 6, 41)];
    expect(r.choices.map((c) => c.text)).toEqual(gens.map((g) => g.text));
    expect(r.usage?.completion_tokens).toBe(
      gens[0].usage.completion_tokens + gens[1].usage.completion_tokens,
    );
    for (const c of r.choices) {
      const id = (c as unknown as { generation_id: string }).generation_id;
      expect((await feedback(app.api_key, { user: 'reader-1', generation_id: id })).status).toBe(201);
    }
    const stream = await client(app.api_key).chat.completions.create({
      model,
      messages: [{ role: 'user', content: 'Rain' }],
      max_tokens: 6,
      seed: 2,
      n: 2,
      user: 'reader-1',
      stream: true,
    });
    const texts = ['', ''];
    for await (const chunk of stream)
      for (const ch of chunk.choices) texts[ch.index] += ch.delta.content ?? '';
    const whole = await client(app.api_key).chat.completions.create({
      model,
      messages: [{ role: 'user', content: 'Rain' }],
      max_tokens: 6,
      seed: 2,
      n: 2,
      user: 'reader-1',
    });
    expect(texts).toEqual(whole.choices.map((c) => c.message.content));
  });

  it("surfaces refusals and Tailor's errors as the client's errors", async () => {
    const refused = await client(app.api_key)
      .chat.completions.create({ model, messages: [{ role: 'user', content: 'x' }], user: 'u', n: 5 })
      .catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(OpenAI.BadRequestError);
    expect((refused as InstanceType<typeof OpenAI.BadRequestError>).param).toBe('n');
    const unknown = await client(app.api_key)
      .completions.create({ model: 'gpt-4o', prompt: 'x', user: 'u' })
      .catch((e: unknown) => e);
    expect(unknown).toBeInstanceOf(OpenAI.NotFoundError);
    expect((unknown as InstanceType<typeof OpenAI.NotFoundError>).code).toBe('model_not_found');
    const bad = await client('not-a-key')
      .models.list()
      .catch((e: unknown) => e);
    expect(bad).toBeInstanceOf(OpenAI.AuthenticationError);
  });
});

describe("the AI SDK's OpenAI provider", () => {
  const provider = () => createOpenAI({ baseURL: `${server.url}/v1`, apiKey: app.api_key });
  const user = { openai: { user: 'sdk-user' } };

  it('chats (generateText), with usage and an id for feedback', async () => {
    const r = await generateText({
      model: provider().chat(model),
      messages: [{ role: 'user', content: 'The forest' }],
      maxOutputTokens: 8,
      seed: 6,
      providerOptions: user,
      maxRetries: 0,
    });
    const g = await generate('sdk-user', chatPrompt([{ role: 'user', content: 'The forest' }]), 8, 6);
    expect(r.text).toBe(g.text);
    expect(r.text.length).toBeGreaterThan(0);
    expect(r.usage.inputTokens).toBe(g.usage.prompt_tokens);
    expect(r.usage.outputTokens).toBe(g.usage.completion_tokens);
    expect((await feedback(app.api_key, { user: 'sdk-user', generation_id: r.response.id })).status).toBe(
      201,
    );
  });

  it('streams a chat (streamText)', async () => {
    const r = streamText({
      model: provider().chat(model),
      system: 'A tale.',
      prompt: 'The river',
      maxOutputTokens: 8,
      seed: 7,
      providerOptions: user,
      maxRetries: 0,
    });
    let text = '';
    for await (const piece of r.textStream) text += piece;
    const messages = [
      { role: 'system' as const, content: 'A tale.' },
      { role: 'user' as const, content: 'The river' },
    ];
    const g = await generate('sdk-user', chatPrompt(messages), 8, 7);
    expect(text).toBe(g.text);
    const usage = await r.usage;
    expect(usage.inputTokens).toBe(g.usage.prompt_tokens);
    expect(usage.outputTokens).toBe(g.usage.completion_tokens);
    const id = (await r.response).id;
    expect((await feedback(app.api_key, { user: 'sdk-user', generation_id: id })).status).toBe(201);
  });
});
