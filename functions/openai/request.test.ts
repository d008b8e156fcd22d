import { describe, expect, it } from 'vitest';
import { OpenAiError } from './errors.js';
import { chatPrompt } from './request.js';

const specialTokens = { bos_token: '<s>', eos_token: '</s>' };
const llama2 =
  "{{ bos_token }}{% for m in messages %}{% if m['role'] == 'user' %}[INST] {{ m['content'] }} [/INST]" +
  "{% else %} {{ m['content'] }}{{ eos_token }}{% endif %}{% endfor %}";

describe('chat prompts', () => {
  it("renders a base's chat template, without the BOS the engine writes itself", () => {
    const prompt = chatPrompt(
      [
        { role: 'user', content: 'Hi' },
        { role: 'assistant', content: 'Hello.' },
        { role: 'user', content: 'A story?' },
      ],
      { chatTemplate: llama2, specialTokens },
    );
    expect(prompt).toBe('[INST] Hi [/INST] Hello.</s>[INST] A story? [/INST]');
  });

  it('asks for the generation prompt unless the assistant has begun its answer', () => {
    const t =
      '{% for m in messages %}{{ m.role }}:{{ m.content }};{% endfor %}{% if add_generation_prompt %}A:{% endif %}';
    const format = { chatTemplate: t, specialTokens };
    expect(chatPrompt([{ role: 'user', content: 'x' }], format)).toBe('user:x;A:');
    expect(
      chatPrompt(
        [
          { role: 'user', content: 'x' },
          { role: 'assistant', content: 'Once' },
        ],
        format,
      ),
    ).toBe('user:x;assistant:Once;');
  });

  it('runs templates sandboxed: no host objects, and a broken template is a 422 naming the model', () => {
    const probe = '{{ messages.constructor }}{{ process }}{{ globalThis }}';
    expect(chatPrompt([{ role: 'user', content: 'x' }], { chatTemplate: probe, specialTokens })).not.toMatch(
      /function|native|\[object/,
    );
    let err: unknown;
    try {
      chatPrompt([{ role: 'user', content: 'x' }], { chatTemplate: '{% for %}', specialTokens });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(OpenAiError);
    expect((err as OpenAiError).message).toMatch(/chat template does not parse/);
  });

  it('joins the messages as one text on a base without a template (the shipped story model)', () => {
    expect(
      chatPrompt([
        { role: 'system', content: 'Be brief.' },
        { role: 'user', content: 'Go' },
      ]),
    ).toBe('Be brief.\n\nGo\n\n');
  });
});
