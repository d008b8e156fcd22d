// The OpenAI-compatible routes through app.request(): OpenAI's shapes (JSON and streamed), the same texts and
// generation ids as /v1/generate, styles as `base:style` models, refusals of what Tailor cannot honour (400
// naming the field, nothing written) and the app's errors in OpenAI's shape.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EngineUnavailableError, Generation } from '../../engine/index.js';
import { randomAdapter } from '../../engine/testing.js';
import { ADMIN, startPlatform, type TestPlatform } from '../../test/support/platform.js';
import { signUserToken } from '../auth/jwt.js';
import { chatPrompt } from '../openai/request.js';

let p: TestPlatform;
let app: { app_id: string; api_key: string; signing_secret: string };
let model: string;
const token = (sub: string) =>
  signUserToken({ sub, exp: Math.floor(Date.now() / 1000) + 300 }, app.signing_secret, app.app_id);

/** The `data:` lines of an OpenAI stream: chunks as JSON, `[DONE]` as the string. */
function dataLines(text: string): any[] {
  return text
    .split('\n\n')
    .filter((b) => b.trim())
    .map((b) => {
      expect(b).toMatch(/^data: /);
      const data = b.replace(/^data: ?/, '');
      return data === '[DONE]' ? data : JSON.parse(data);
    });
}

const post = (path: string, body: unknown, key = app.api_key) => p.call('POST', path, { key, body });

beforeAll(async () => {
  p = await startPlatform();
  app = await p.newApp('openai');
  model = p.services.baseModelId;
  const files = randomAdapter(p.engine.model(p.services.baseModelId).shape, {
    r: 2,
    alpha: 4,
    targets: ['q_proj', 'v_proj'],
    seed: 5,
  });
  const imported = await p.call('POST', `/admin/apps/${app.app_id}/styles/import`, {
    key: ADMIN,
    body: {
      style: 'noir',
      adapter_config: Buffer.from(files.config).toString('base64'),
      adapter_model: Buffer.from(files.weights).toString('base64'),
    },
  });
  expect(imported.status).toBe(201);
}, 60_000);
afterAll(() => p.close());

describe('POST /v1/completions', () => {
  it("answers in OpenAI's shape with /v1/generate's text for the same seed, and stores the generation", async () => {
    const prompt = 'The night was';
    const r = await post('/v1/completions', { model, prompt, max_tokens: 10, seed: 7, user: 'reader-1' });
    expect(r.status).toBe(200);
    const g = await post('/v1/generate', { user: 'reader-1', prompt, max_tokens: 10, seed: 7 });
    const promptTokens = p.engine.model(p.services.baseModelId).tokenizer.encode(prompt).length;
    expect(r.json).toMatchObject({
      object: 'text_completion',
      model,
      created: expect.any(Number),
      choices: [{ text: g.json.text, index: 0, logprobs: null }],
      usage: {
        prompt_tokens: promptTokens,
        completion_tokens: g.json.usage.completion_tokens,
        total_tokens: promptTokens + g.json.usage.completion_tokens,
      },
    });
    expect(r.json.choices[0].finish_reason).toBe(g.json.finish_reason === 'length' ? 'length' : 'stop');
    expect(r.json.choices[0].text.length).toBeGreaterThan(0);
    expect(r.json.id).toMatch(/^gen_/);
    const listed = await p.call('GET', `/admin/apps/${app.app_id}/generations?user=reader-1`, { key: ADMIN });
    expect(listed.json.items.map((i: { id: string }) => i.id)).toContain(r.json.id);
    // The id is a generation id: feedback on it works.
    const f = await post('/v1/feedback', { user: 'reader-1', generation_id: r.json.id, rating: 1 });
    expect(f.status).toBe(201);
  });

  it('streams data: chunks with the same text, a finish chunk, the usage chunk when asked, then [DONE]', async () => {
    const body = { model, prompt: 'She said', max_tokens: 8, seed: 3, user: 'reader-1' };
    const whole = await post('/v1/completions', body);
    const res = await post('/v1/completions', {
      ...body,
      stream: true,
      stream_options: { include_usage: true },
    });
    expect(res.headers.get('content-type')).toContain('text/event-stream');
    const lines = dataLines(res.text);
    expect(lines.at(-1)).toBe('[DONE]');
    const chunks = lines.slice(0, -1);
    for (const c of chunks) expect(c).toMatchObject({ id: chunks[0].id, object: 'text_completion', model });
    const usage = chunks.at(-1);
    expect(usage.choices).toEqual([]);
    expect(usage.usage).toEqual(whole.json.usage);
    const finish = chunks.at(-2);
    expect(finish.choices[0]).toMatchObject({ text: '', finish_reason: whole.json.choices[0].finish_reason });
    const texts = chunks.slice(0, -2);
    for (const c of texts) expect(c.choices[0].finish_reason).toBeNull();
    expect(texts.map((c) => c.choices[0].text).join('')).toBe(whole.json.choices[0].text);
    // Without include_usage: no usage chunk, no usage field.
    const plain = dataLines((await post('/v1/completions', { ...body, stream: true })).text);
    expect(plain.at(-2).choices[0].finish_reason).not.toBeNull();
    expect(plain.some((c) => c !== '[DONE]' && 'usage' in c)).toBe(false);
  });

  it('stops at a stop string (a string or an array) and says stop', async () => {
    const body = {
      model,
      prompt: 'Once upon a time',
      max_tokens: 24,
      seed: 11,
      temperature: 0,
      user: 'u-stop',
    };
    const free = (await post('/v1/completions', body)).json.choices[0].text as string;
    const word = free.trim().split(/\s+/)[1] as string;
    expect(word).toBeTruthy();
    for (const stop of [word, [word, 'zzzzq']]) {
      const r = await post('/v1/completions', { ...body, stop });
      expect(r.json.choices[0].finish_reason).toBe('stop');
      expect(r.json.choices[0].text).toBe(free.slice(0, free.indexOf(word)));
    }
  });

  it('accepts the neutral defaults OpenAI clients send', async () => {
    const r = await post('/v1/completions', {
      model,
      prompt: ['A'],
      max_tokens: 3,
      user: 'u-neutral',
      n: 1,
      presence_penalty: 0,
      frequency_penalty: 0,
      logit_bias: {},
      logprobs: null,
      echo: false,
      best_of: 1,
      suffix: null,
      stop: null,
      seed: null,
      temperature: null,
      top_p: 1,
      stream: false,
      stream_options: null,
    });
    expect(r.status).toBe(200);
    expect(r.json.choices).toHaveLength(1);
  });
});

describe('POST /v1/chat/completions', () => {
  it('turns the messages into one prompt by the documented template, and continues a last assistant turn', () => {
    expect(
      chatPrompt([
        { role: 'user', content: 'Tell me a story.' },
        { role: 'system', content: 'You write noir.' },
        { role: 'assistant', content: [{ type: 'text', text: 'It was' }] },
      ]),
    ).toBe('You write noir.\n\nTell me a story.\n\nIt was');
    expect(chatPrompt([{ role: 'user', content: 'Hello' }])).toBe('Hello\n\n');
  });

  it("answers in OpenAI's chat shape with /v1/generate's text for the templated prompt", async () => {
    const messages = [
      { role: 'system', content: 'A story.' },
      { role: 'user', content: 'The door' },
      { role: 'assistant', content: 'opened and' },
    ] as const;
    const r = await post('/v1/chat/completions', {
      model,
      messages,
      max_completion_tokens: 8,
      seed: 5,
      user: 'reader-1',
    });
    expect(r.status).toBe(200);
    const g = await post('/v1/generate', {
      user: 'reader-1',
      prompt: chatPrompt([...messages]),
      max_tokens: 8,
      seed: 5,
    });
    expect(r.json).toMatchObject({
      object: 'chat.completion',
      model,
      choices: [{ index: 0, message: { role: 'assistant', content: g.json.text }, logprobs: null }],
      usage: { completion_tokens: g.json.usage.completion_tokens, prompt_tokens: g.json.usage.prompt_tokens },
    });
    const f = await post('/v1/feedback', { user: 'reader-1', generation_id: r.json.id, rating: -1 });
    expect(f.status).toBe(201);
  });

  it('streams chunks: the role first, then content deltas, the finish, usage when asked, then [DONE]', async () => {
    const body = {
      model,
      messages: [{ role: 'user', content: 'Rain fell' }],
      max_tokens: 8,
      seed: 9,
      user: 'c',
    };
    const whole = await post('/v1/chat/completions', body);
    const lines = dataLines(
      (await post('/v1/chat/completions', { ...body, stream: true, stream_options: { include_usage: true } }))
        .text,
    );
    expect(lines.at(-1)).toBe('[DONE]');
    const chunks = lines.slice(0, -1);
    for (const c of chunks) expect(c).toMatchObject({ object: 'chat.completion.chunk', id: chunks[0].id });
    expect(chunks[0].choices[0].delta.role).toBe('assistant');
    expect(chunks.at(-1)).toMatchObject({ choices: [], usage: whole.json.usage });
    expect(chunks.at(-2).choices[0]).toMatchObject({
      delta: {},
      finish_reason: whole.json.choices[0].finish_reason,
    });
    const content = chunks
      .slice(1, -2)
      .map((c) => c.choices[0].delta.content)
      .join('');
    expect(content).toBe(whole.json.choices[0].message.content);
  });

  it('acts for the user of a user token, and refuses another user in OpenAI’s shape', async () => {
    const t = await token('reader-2');
    const ok = await post(
      '/v1/chat/completions',
      { model, messages: [{ role: 'user', content: 'Hi' }], max_tokens: 2 },
      t,
    );
    expect(ok.status).toBe(200);
    const before = await p.rowCounts();
    const other = await post(
      '/v1/chat/completions',
      { model, messages: [{ role: 'user', content: 'Hi' }], user: 'reader-1' },
      t,
    );
    expect(other.status).toBe(403);
    expect(other.json.error).toMatchObject({
      type: 'permission_error',
      message: expect.stringMatching(/reader-2/),
    });
    expect(await p.rowCounts()).toEqual(before);
  });

  it('accepts the neutral defaults OpenAI clients send', async () => {
    const r = await post('/v1/chat/completions', {
      model,
      messages: [
        { role: 'developer', content: 'Be brief.', name: 'x' },
        { role: 'user', content: 'Go' },
      ],
      max_tokens: 2,
      user: 'u-neutral',
      n: 1,
      presence_penalty: 0,
      frequency_penalty: 0,
      logit_bias: {},
      logprobs: false,
      top_logprobs: null,
      response_format: { type: 'text' },
      tools: [],
      tool_choice: 'none',
      parallel_tool_calls: false,
      stream_options: { include_usage: false },
    });
    expect(r.status).toBe(200);
  });
});

describe('log-probabilities', () => {
  it('completions: logprobs k gives tokens, their logprobs, k alternatives and offsets; streamed the same', async () => {
    const body = { model, prompt: 'The night was', max_tokens: 10, temperature: 0, user: 'lp', logprobs: 3 };
    const plain = await post('/v1/completions', { ...body, logprobs: null });
    const r = await post('/v1/completions', body);
    expect(r.status).toBe(200);
    const choice = r.json.choices[0];
    expect(choice.text).toBe(plain.json.choices[0].text);
    expect(plain.json.choices[0].logprobs).toBeNull();
    const lp = choice.logprobs;
    const count = lp.tokens.length;
    expect(count).toBeGreaterThan(0);
    expect(count).toBeLessThanOrEqual(r.json.usage.completion_tokens);
    for (const k of ['token_logprobs', 'top_logprobs', 'text_offset']) expect(lp[k]).toHaveLength(count);
    for (let i = 0; i < count; i++) {
      const top = Object.entries(lp.top_logprobs[i] as Record<string, number>);
      expect(top.length).toBeGreaterThan(0);
      expect(top.length).toBeLessThanOrEqual(3);
      expect(lp.token_logprobs[i]).toBeLessThanOrEqual(0);
      // Greedy: the chosen token is the most likely one.
      expect(top[0]).toEqual([lp.tokens[i], lp.token_logprobs[i]]);
      expect(lp.text_offset[i]).toBeLessThan(choice.text.length);
      if (i > 0) expect(lp.text_offset[i]).toBeGreaterThanOrEqual(lp.text_offset[i - 1]);
    }
    expect(lp.text_offset[0]).toBe(0);
    // Streamed: the chunks' logprobs, joined, are the answer's; the finish chunk has none.
    const chunks = dataLines((await post('/v1/completions', { ...body, stream: true })).text).slice(0, -1);
    const texts = chunks.slice(0, -1);
    expect(chunks.at(-1).choices[0].logprobs).toBeNull();
    const joined = (k: string) => texts.flatMap((c) => c.choices[0].logprobs[k]);
    for (const k of ['tokens', 'token_logprobs', 'top_logprobs', 'text_offset'])
      expect(joined(k)).toEqual(lp[k]);
  });

  it('chat: logprobs with top_logprobs gives content entries with bytes; streamed the same', async () => {
    const body = {
      model,
      messages: [{ role: 'user', content: 'Rain fell' }],
      max_tokens: 8,
      seed: 9,
      user: 'lp',
      logprobs: true,
      top_logprobs: 2,
    };
    const r = await post('/v1/chat/completions', body);
    expect(r.status).toBe(200);
    const { logprobs, message } = r.json.choices[0];
    expect(logprobs.refusal).toBeNull();
    expect(logprobs.content.length).toBeGreaterThan(0);
    for (const t of logprobs.content) {
      expect(t).toEqual({
        token: expect.any(String),
        logprob: expect.any(Number),
        bytes: expect.any(Array),
        top_logprobs: expect.any(Array),
      });
      expect(t.logprob).toBeLessThanOrEqual(0);
      expect(t.top_logprobs).toHaveLength(2);
      expect(t.top_logprobs[0].logprob).toBeGreaterThanOrEqual(t.top_logprobs[1].logprob);
      expect(t.top_logprobs[0].logprob).toBeGreaterThanOrEqual(t.logprob);
    }
    const bytes = logprobs.content.flatMap((t: { bytes: number[] }) => t.bytes);
    expect(Buffer.from(bytes).toString('utf8')).toBe(message.content);
    // logprobs: true alone: the chosen tokens' only.
    const bare = await post('/v1/chat/completions', { ...body, top_logprobs: undefined });
    for (const t of bare.json.choices[0].logprobs.content) expect(t.top_logprobs).toEqual([]);
    const chunks = dataLines((await post('/v1/chat/completions', { ...body, stream: true })).text).slice(
      0,
      -1,
    );
    expect(chunks[0].choices[0].logprobs).toBeNull(); // the role chunk
    expect(chunks.at(-1).choices[0].logprobs).toBeNull(); // the finish chunk
    expect(chunks.slice(1, -1).flatMap((c) => c.choices[0].logprobs.content)).toEqual(logprobs.content);
  });

  it('with a stop string, lists the tokens whose text is in the answer', async () => {
    const body = {
      model,
      prompt: 'Once upon a time',
      max_tokens: 24,
      temperature: 0,
      user: 'lp',
      logprobs: 0,
    };
    const free = (await post('/v1/completions', body)).json.choices[0];
    const word = free.text.trim().split(/\s+/)[1] as string;
    const r = (await post('/v1/completions', { ...body, stop: word })).json.choices[0];
    expect(r.finish_reason).toBe('stop');
    const n = r.logprobs.tokens.length;
    expect(n).toBeGreaterThan(0);
    expect(n).toBeLessThan(free.logprobs.tokens.length);
    expect(r.logprobs.tokens).toEqual(free.logprobs.tokens.slice(0, n));
    for (const o of r.logprobs.text_offset) expect(o).toBeLessThan(r.text.length);
    for (const t of r.logprobs.top_logprobs) expect(t).toEqual({});
  });
});

describe('n choices', () => {
  it('n choices, each its own stored generation: choice i is seed + i, usage sums, feedback on each', async () => {
    const prompt = 'The city';
    const before = await p.rowCounts();
    const r = await post('/v1/completions', { model, prompt, max_tokens: 6, seed: 20, n: 3, user: 'many' });
    expect(r.status).toBe(200);
    expect(r.json.choices.map((c: { index: number }) => c.index)).toEqual([0, 1, 2]);
    const ids = r.json.choices.map((c: { generation_id: string }) => c.generation_id);
    expect(new Set(ids).size).toBe(3);
    expect(r.json.id).toBe(ids[0]);
    let completion = 0;
    for (const [i, c] of r.json.choices.entries()) {
      const g = await post('/v1/generate', { user: 'many', prompt, max_tokens: 6, seed: 20 + i });
      expect(c.text).toBe(g.json.text);
      completion += g.json.usage.completion_tokens;
      const f = await post('/v1/feedback', { user: 'many', generation_id: c.generation_id, rating: 1 });
      expect(f.status).toBe(201);
    }
    const promptTokens = p.engine.model(p.services.baseModelId).tokenizer.encode(prompt).length;
    expect(r.json.usage).toEqual({
      prompt_tokens: promptTokens,
      completion_tokens: completion,
      total_tokens: promptTokens + completion,
    });
    const listed = await p.call('GET', `/admin/apps/${app.app_id}/generations?user=many`, { key: ADMIN });
    for (const id of ids) expect(listed.json.items.map((i: { id: string }) => i.id)).toContain(id);
    expect(before).toBeDefined();
  });

  it('streams n chat choices: chunks carry their index, each choice its role, content and finish', async () => {
    const body = {
      model,
      messages: [{ role: 'user', content: 'The sea' }],
      max_tokens: 6,
      seed: 31,
      n: 2,
      user: 'many',
      logprobs: true,
    };
    const whole = await post('/v1/chat/completions', body);
    expect(whole.json.choices).toHaveLength(2);
    const lines = dataLines(
      (await post('/v1/chat/completions', { ...body, stream: true, stream_options: { include_usage: true } }))
        .text,
    );
    expect(lines.at(-1)).toBe('[DONE]');
    const chunks = lines.slice(0, -1);
    expect(chunks.at(-1)).toMatchObject({ choices: [], usage: whole.json.usage });
    for (const i of [0, 1]) {
      const mine = chunks.slice(0, -1).filter((c) => c.choices[0].index === i);
      expect(mine[0].choices[0].delta.role).toBe('assistant');
      expect(mine.at(-1).choices[0].finish_reason).toBe(whole.json.choices[i].finish_reason);
      const content = mine
        .slice(1, -1)
        .map((c) => c.choices[0].delta.content)
        .join('');
      expect(content).toBe(whole.json.choices[i].message.content);
      expect(mine.slice(1, -1).flatMap((c) => c.choices[0].logprobs.content)).toEqual(
        whole.json.choices[i].logprobs.content,
      );
      for (const c of mine) expect(c.choices[0].generation_id).toBe(mine[0].choices[0].generation_id);
    }
    expect(chunks[0].id).toBe(chunks.find((c) => c.choices[0]?.index === 0).choices[0].generation_id);
  });
});

describe('models and styles', () => {
  it("lists the base model and base:style for each of the app's active styles", async () => {
    const r = await p.call('GET', '/v1/models', { key: app.api_key });
    expect(r.status).toBe(200);
    expect(r.json.object).toBe('list');
    expect(r.json.data.map((m: { id: string }) => m.id)).toEqual([model, `${model}:noir`]);
    for (const m of r.json.data) expect(m).toMatchObject({ object: 'model', created: expect.any(Number) });
  });

  it('applies a style named in the model at weight 1, as /v1/generate does with styles', async () => {
    const body = { prompt: 'The city', max_tokens: 8, seed: 4, user: 'styled' };
    const styled = await post('/v1/completions', { ...body, model: `${model}:noir` });
    const g = await post('/v1/generate', { ...body, styles: [{ id: 'noir', weight: 1 }] });
    expect(styled.json.model).toBe(`${model}:noir`);
    expect(styled.json.choices[0].text).toBe(g.json.text);
    expect(g.json.styles).toEqual([expect.objectContaining({ id: 'noir', weight: 1 })]);
  });

  it('answers an unknown model (or style) with a 404 naming model, writing nothing', async () => {
    const before = await p.rowCounts();
    for (const m of ['gpt-4o', `${model}:nope`, `${model}x`]) {
      const r = await post('/v1/completions', { model: m, prompt: 'x', user: 'u' });
      expect(r.status, m).toBe(404);
      expect(r.json.error).toMatchObject({
        type: 'invalid_request_error',
        param: 'model',
        code: 'model_not_found',
      });
    }
    expect(await p.rowCounts()).toEqual(before);
  });
});

describe('refusals and errors', () => {
  const chat = { model: '', messages: [{ role: 'user', content: 'x' }], user: 'u-refused' };
  const completion = { model: '', prompt: 'x', user: 'u-refused' };
  const cases: [string, string, Record<string, unknown>][] = [
    ['n', '/v1/chat/completions', { n: 5 }],
    ['n', '/v1/completions', { n: 0 }],
    ['n', '/v1/completions', { n: 1.5 }],
    ['tools', '/v1/chat/completions', { tools: [{ type: 'function', function: { name: 'f' } }] }],
    ['tool_choice', '/v1/chat/completions', { tool_choice: 'required' }],
    ['functions', '/v1/chat/completions', { functions: [{ name: 'f' }] }],
    ['response_format', '/v1/chat/completions', { response_format: { type: 'json_object' } }],
    ['presence_penalty', '/v1/chat/completions', { presence_penalty: 0.5 }],
    ['frequency_penalty', '/v1/completions', { frequency_penalty: -1 }],
    ['logit_bias', '/v1/chat/completions', { logit_bias: { '50256': -100 } }],
    ['logprobs', '/v1/chat/completions', { logprobs: 3 }],
    ['logprobs', '/v1/completions', { logprobs: 6 }],
    ['logprobs', '/v1/completions', { logprobs: true }],
    ['top_logprobs', '/v1/chat/completions', { top_logprobs: 3 }],
    ['top_logprobs', '/v1/chat/completions', { logprobs: true, top_logprobs: 21 }],
    ['top_logprobs', '/v1/completions', { logprobs: 2, top_logprobs: 2 }],
    ['echo', '/v1/completions', { echo: true }],
    ['suffix', '/v1/completions', { suffix: 'end' }],
    ['best_of', '/v1/completions', { best_of: 2 }],
    ['prompt', '/v1/completions', { prompt: ['a', 'b'] }],
    ['prompt', '/v1/completions', { prompt: [[1, 2, 3]] }],
    [
      'messages[0].role',
      '/v1/chat/completions',
      { messages: [{ role: 'tool', content: 'x', tool_call_id: 't' }] },
    ],
    [
      'messages[0].content[0].type',
      '/v1/chat/completions',
      { messages: [{ role: 'user', content: [{ type: 'image_url', image_url: { url: 'http://x' } }] }] },
    ],
    [
      'messages[0].tool_calls',
      '/v1/chat/completions',
      { messages: [{ role: 'assistant', content: 'x', tool_calls: [] }] },
    ],
    ['metadata', '/v1/chat/completions', { metadata: { a: 'b' } }],
    ['maxTokens', '/v1/completions', { maxTokens: 5 }],
  ];

  it('refuses each field Tailor cannot honour with a 400 naming it, writing nothing', async () => {
    const before = await p.rowCounts();
    for (const [param, path, extra] of cases) {
      const base = path === '/v1/completions' ? completion : chat;
      const r = await post(path, { ...base, model, ...extra });
      expect(r.status, `${path} ${param}`).toBe(400);
      expect(r.json.error, `${path} ${param}`).toMatchObject({ type: 'invalid_request_error', param });
      expect(r.json.error.message).toEqual(expect.any(String));
    }
    expect(await p.rowCounts()).toEqual(before);
  });

  it("gives the app's errors in OpenAI's shape: 401, 422 naming the field, 400 bad JSON", async () => {
    const bad = await post('/v1/chat/completions', chat, 'not-a-key');
    expect(bad.status).toBe(401);
    expect(bad.json.error).toMatchObject({
      type: 'authentication_error',
      code: 'invalid_api_key',
      param: null,
    });
    const models = await p.call('GET', '/v1/models', { key: 'not-a-key' });
    expect(models.status).toBe(401);
    expect(models.json.error.type).toBe('authentication_error');
    const noUser = await post('/v1/completions', { model, prompt: 'x' });
    expect(noUser.status).toBe(422);
    expect(noUser.json.error).toMatchObject({ type: 'invalid_request_error', param: 'user' });
    const big = await post('/v1/completions', { ...completion, model, max_tokens: 4096 });
    expect(big.status).toBe(422);
    expect(big.json.error.param).toBe('max_tokens');
    const badJson = await p.call('POST', '/v1/completions', { key: app.api_key, raw: '{"model":' });
    expect(badJson.status).toBe(400);
    expect(badJson.json.error.type).toBe('invalid_request_error');
  });

  it('answers 429 past a rate limit in OpenAI’s shape, with Retry-After', async () => {
    const limited = await startPlatform({ RATE_LIMIT_PER_USER_PER_MINUTE: '1' });
    try {
      const a = await limited.newApp('limited');
      const body = { model, prompt: 'x', max_tokens: 1, user: 'busy' };
      expect((await limited.call('POST', '/v1/completions', { key: a.api_key, body })).status).toBe(200);
      const r = await limited.call('POST', '/v1/completions', { key: a.api_key, body });
      expect(r.status).toBe(429);
      expect(Number(r.headers.get('retry-after'))).toBeGreaterThan(0);
      expect(r.json.error).toMatchObject({ type: 'rate_limit_error', code: 'rate_limit_exceeded' });
    } finally {
      await limited.close();
    }
  });

  it('answers 503 when no engine can run, and ends a stream with an error line then [DONE]', async () => {
    const engine = p.services.engine;
    const generate = engine.generate.bind(engine);
    engine.generate = () =>
      new Generation(async () => {
        throw new EngineUnavailableError('an inference thread stopped (exit code 1); retry');
      });
    try {
      const body = { ...chat, model, max_tokens: 4 };
      const json = await post('/v1/chat/completions', body);
      expect(json.status).toBe(503);
      expect(json.headers.get('retry-after')).toBe('1');
      expect(json.json.error).toMatchObject({ type: 'server_error', code: 'unavailable' });
      const lines = dataLines((await post('/v1/chat/completions', { ...body, stream: true })).text);
      expect(lines.at(-1)).toBe('[DONE]');
      expect(lines.at(-2).error).toMatchObject({
        code: 'unavailable',
        message: expect.stringMatching(/retry/),
      });
    } finally {
      engine.generate = generate;
    }
  });
});
