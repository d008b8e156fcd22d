// What the OpenAI-compatible routes refuse before validation, with a 400 naming the field: values that would
// change behaviour Tailor cannot honour, values over its limits, and fields it does not know. Neutral values
// (penalties 0, `logit_bias: {}`) pass.
import type { MiddlewareHandler } from 'hono';
import { MAX_CHOICES, MAX_COMPLETION_LOGPROBS, MAX_TOP_LOGPROBS } from '../../schema/contracts.js';
import type { HonoEnv } from '../http/services.js';
import { outOfRange, refuse } from './errors.js';

const intIn = (v: unknown, lo: number, hi: number) =>
  Number.isInteger(v) && (v as number) >= lo && (v as number) <= hi;

type Body = Record<string, unknown>;
const given = (v: unknown) => v !== undefined && v !== null;

/** Refuses, with a 400 naming the field, what would change behaviour Tailor cannot honour, and unknown fields. */
export function refusals(known: readonly string[], chat: boolean): MiddlewareHandler<HonoEnv> {
  const fields = new Set(known);
  return async (c, next) => {
    let b: unknown;
    try {
      b = await c.req.json();
    } catch {
      return next(); // not JSON (or not sent as JSON): the validator says so
    }
    if (b && typeof b === 'object' && !Array.isArray(b)) check(b as Body, fields, chat);
    await next();
  };
}

function check(b: Body, fields: Set<string>, chat: boolean): void {
  const n = b.n;
  if (given(n) && !intIn(n, 1, MAX_CHOICES))
    throw outOfRange('n', `n: from 1 to ${MAX_CHOICES} choices per request (got ${JSON.stringify(n)})`);
  for (const f of ['presence_penalty', 'frequency_penalty'])
    if (given(b[f]) && b[f] !== 0)
      throw refuse(f, `${f}: penalties are not supported; send 0 or leave it out`);
  const bias = b.logit_bias;
  if (given(bias) && (typeof bias !== 'object' || Object.keys(bias as object).length > 0))
    throw refuse('logit_bias', 'logit_bias: not supported; send {} or leave it out');
  const lp = b.logprobs;
  if (!chat && given(lp) && lp !== false && !intIn(lp, 0, MAX_COMPLETION_LOGPROBS))
    throw outOfRange(
      'logprobs',
      `logprobs: alternatives per token, an integer from 0 to ${MAX_COMPLETION_LOGPROBS} (got ${JSON.stringify(lp)})`,
    );
  if (chat && given(lp) && typeof lp !== 'boolean')
    throw outOfRange('logprobs', `logprobs: true or false (got ${JSON.stringify(lp)})`);
  const top = b.top_logprobs;
  if (chat && given(top)) {
    if (!intIn(top, 0, MAX_TOP_LOGPROBS))
      throw outOfRange(
        'top_logprobs',
        `top_logprobs: an integer from 0 to ${MAX_TOP_LOGPROBS} (got ${JSON.stringify(top)})`,
      );
    if ((top as number) > 0 && lp !== true)
      throw outOfRange('top_logprobs', 'top_logprobs: needs logprobs: true');
  }
  if (b.echo === true) throw refuse('echo', 'echo: not supported');
  if (given(b.suffix) && b.suffix !== '') throw refuse('suffix', 'suffix: insertion is not supported');
  if (given(b.best_of) && b.best_of !== 1) throw refuse('best_of', 'best_of: only 1 is supported');
  const format = b.response_format as { type?: unknown } | null | undefined;
  if (given(format) && format?.type !== 'text')
    throw refuse('response_format', 'response_format: only { "type": "text" } is supported');
  for (const f of ['tools', 'functions'])
    if (given(b[f]) && !(Array.isArray(b[f]) && (b[f] as unknown[]).length === 0))
      throw refuse(f, `${f}: tool and function calling are not supported`);
  for (const f of ['tool_choice', 'function_call'])
    if (given(b[f]) && b[f] !== 'none' && b[f] !== 'auto')
      throw refuse(f, `${f}: tool and function calling are not supported`);
  if (Array.isArray(b.prompt) && (b.prompt.length !== 1 || typeof b.prompt[0] !== 'string'))
    throw refuse('prompt', 'prompt: one prompt per request, as a string (or an array of one string)');
  if (chat && Array.isArray(b.messages)) {
    for (const [i, m] of b.messages.entries()) {
      if (!m || typeof m !== 'object') continue;
      const msg = m as Body;
      if (msg.role === 'tool' || msg.role === 'function')
        throw refuse(`messages[${i}].role`, `messages[${i}].role: ${msg.role} messages are not supported`);
      for (const k of Object.keys(msg))
        if (!['role', 'content', 'name'].includes(k) && given(msg[k]))
          throw refuse(`messages[${i}].${k}`, `messages[${i}].${k}: not supported`);
      if (Array.isArray(msg.content)) {
        for (const [j, part] of msg.content.entries()) {
          const type = (part as Body | null)?.type;
          if (type !== 'text')
            throw refuse(
              `messages[${i}].content[${j}].type`,
              `messages[${i}].content[${j}].type: only text parts are supported (got ${JSON.stringify(type)})`,
            );
        }
      }
    }
  }
  for (const k of Object.keys(b))
    if (!fields.has(k)) throw refuse(k, `Unrecognized request argument supplied: ${k}`);
}
