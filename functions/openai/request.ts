// An OpenAI-compatible request in Tailor's terms: the chat template (messages become one prompt), the styles a
// `model` names, the generation request it stands for (checked as /v1/generate checks its own), and the
// log-probabilities it asks.

import { Template } from '@huggingface/jinja';
import { listStyles } from '../../core/db/adapters.js';
import {
  type ChatMessage,
  type ChatRequest,
  type CompletionRequest,
  generateRequest,
  type StyleWeight,
} from '../../schema/contracts.js';
import type { App } from '../../schema/tables.js';
import type { Services } from '../http/services.js';
import { parseModel, servedBase } from '../usecases/bases.js';
import { UseCaseError } from '../usecases/errors.js';
import type { GenerationRequest } from '../usecases/generate.js';
import { OpenAiError } from './errors.js';

export type Kind = 'text_completion' | 'chat.completion';
export type OpenAiRequest = CompletionRequest | ChatRequest;

/** What a base's tokenizer says of chat: its template and the special tokens the template names. */
export interface ChatFormat {
  chatTemplate: string | undefined;
  specialTokens: { bos_token: string; eos_token: string };
}

/**
 * The prompt a chat's messages become on a base. A base with a chat template (tokenizer_config.json, imported
 * checkpoints) renders it in a sandboxed template engine (@huggingface/jinja: no file, network or code access;
 * the one transformers.js uses, and it runs on Workers), with the generation prompt added unless the last
 * message is the assistant's own start. The engine puts BOS first itself, so a leading `bos_token` the template
 * writes is dropped; the reader's memory sits between BOS and the rendered chat. A base without a template (the
 * shipped one, a story model) continues one text made of the messages.
 */
export function chatPrompt(messages: ChatMessage[], format?: ChatFormat): string {
  if (format?.chatTemplate)
    return renderChat(messages, { chatTemplate: format.chatTemplate, specialTokens: format.specialTokens });
  return plainChat(messages);
}

const templates = new Map<string, Template>();

function renderChat(
  messages: ChatMessage[],
  format: { chatTemplate: string; specialTokens: ChatFormat['specialTokens'] },
): string {
  let template = templates.get(format.chatTemplate);
  if (!template) {
    try {
      template = new Template(format.chatTemplate);
    } catch (e) {
      throw new OpenAiError(
        422,
        `this model's chat template does not parse: ${(e as Error).message}`,
        'model',
        'invalid_request',
      );
    }
    if (templates.size > 64) templates.clear();
    templates.set(format.chatTemplate, template);
  }
  const text = (m: ChatMessage) =>
    typeof m.content === 'string' ? m.content : m.content.map((p) => p.text).join('\n');
  let rendered: string;
  try {
    rendered = template.render({
      messages: messages.map((m) => ({ role: m.role === 'developer' ? 'system' : m.role, content: text(m) })),
      add_generation_prompt: messages.at(-1)?.role !== 'assistant',
      ...format.specialTokens,
    });
  } catch (e) {
    throw new OpenAiError(
      422,
      `messages: the chat template refused them: ${(e as Error).message}`,
      'messages',
      'invalid_request',
    );
  }
  const bos = format.specialTokens.bos_token;
  return bos && rendered.startsWith(bos) ? rendered.slice(bos.length) : rendered;
}

/** The base model continues one text made of the messages. */
function plainChat(messages: ChatMessage[]): string {
  const text = (m: ChatMessage) =>
    typeof m.content === 'string' ? m.content : m.content.map((p) => p.text).join('\n');
  const isSystem = (m: ChatMessage) => m.role === 'system' || m.role === 'developer';
  const parts = [...messages.filter(isSystem), ...messages.filter((m) => !isSystem(m))]
    .map(text)
    .filter((t) => t.length > 0);
  const joined = parts.join('\n\n');
  return messages.at(-1)?.role === 'assistant' || joined === '' ? joined : `${joined}\n\n`;
}

/**
 * The base and styles a `model` names: a served or published base (`<base>`), or `<base>:<style>` for one of the
 * app's active styles; anything else is a 404.
 */
export async function modelStyles(
  s: Services,
  app: App,
  model: string,
): Promise<{ base: string; styles: StyleWeight[] }> {
  const missing = () =>
    new OpenAiError(
      404,
      `The model '${model}' does not exist: GET /v1/models lists the models`,
      'model',
      'model_not_found',
    );
  const choice = parseModel(model);
  const base = await servedBase(s, choice.base).catch((e) => {
    if (e instanceof UseCaseError && e.code === 'not_found') throw missing();
    throw e;
  });
  if (choice.style === undefined) return { base, styles: [] };
  const id = choice.style;
  const styles = await listStyles(s.db, app.id);
  if (styles.some((st) => st.styleId === id && st.activeVersion !== null))
    return { base, styles: [{ id, weight: 1 }] };
  throw missing();
}

/** The tokens a request asks for each choice (`max_completion_tokens` over `max_tokens`), if any. */
export const maxTokensOf = (req: OpenAiRequest) =>
  ('max_completion_tokens' in req ? req.max_completion_tokens : undefined) ?? req.max_tokens;

/** The generation each choice is, checked as /v1/generate checks its body (a failure is a 422 naming the field). */
export function generationOf(
  req: OpenAiRequest,
  prompt: string,
  user: string,
  styles: StyleWeight[],
  base: string,
): GenerationRequest {
  const maxTokens = maxTokensOf(req);
  const stop = typeof req.stop === 'string' ? [req.stop] : (req.stop ?? undefined);
  const parsed = generateRequest.safeParse({
    prompt,
    ...(maxTokens != null ? { max_tokens: maxTokens } : {}),
    ...(req.temperature != null ? { temperature: req.temperature } : {}),
    ...(req.top_p != null ? { top_p: req.top_p } : {}),
    ...(req.top_k != null ? { top_k: req.top_k } : {}),
    ...(req.seed != null ? { seed: req.seed } : {}),
    ...(stop?.length ? { stop } : {}),
    ...(req.adapter !== undefined ? { adapter: req.adapter } : {}),
    ...(req.memory !== undefined ? { memory: req.memory } : {}),
    styles,
    model: base,
    stream: req.stream ?? false,
  });
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new OpenAiError(
      422,
      `invalid request: ${issue?.path.join('.')}: ${issue?.message}`,
      issue?.path.join('.') || null,
      'invalid_request',
    );
  }
  return { ...parsed.data, user };
}

/** Log-probabilities: chat `logprobs: true` (+ `top_logprobs`), completions `logprobs: k`; undefined = none. */
export function logprobsOf(req: OpenAiRequest, kind: Kind): number | undefined {
  if (kind === 'chat.completion') {
    const chat = req as ChatRequest;
    return chat.logprobs === true ? (chat.top_logprobs ?? 0) : undefined;
  }
  const { logprobs } = req as CompletionRequest;
  return typeof logprobs === 'number' ? logprobs : undefined;
}
