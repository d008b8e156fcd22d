import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { SseParser } from './sse.js';

const parseAll = (chunks: string[]) => {
  const p = new SseParser();
  return [...chunks.flatMap((c) => p.push(c)), ...p.end()];
};

/** Splits `s` at the given cut points. */
const cut = (s: string, at: number[]) => {
  const points = [...new Set(at.map((i) => i % (s.length + 1)))].sort((a, b) => a - b);
  const out: string[] = [];
  let prev = 0;
  for (const p of points) {
    out.push(s.slice(prev, p));
    prev = p;
  }
  out.push(s.slice(prev));
  return out;
};

const BODY =
  ': a comment\r\n' +
  'event: token\r\ndata: {"text":"Once"}\r\n\r\n' +
  'event: token\ndata: {"text":" upon"}\n\n' +
  'event: token\rdata: {"text":" a time"}\r\r' +
  'event:done\r\ndata: {"id":"gen_1",\r\ndata: "text":"x"}\r\nid: 7\r\n\r\n';

const EXPECTED = [
  { event: 'token', data: '{"text":"Once"}' },
  { event: 'token', data: '{"text":" upon"}' },
  { event: 'token', data: '{"text":" a time"}' },
  { event: 'done', data: '{"id":"gen_1",\n"text":"x"}', id: '7' },
];

describe('SseParser', () => {
  it('reads LF, CRLF and CR line ends, comments, several data lines, an optional space', () => {
    expect(parseAll([BODY])).toEqual(EXPECTED);
  });

  it('gives the same events however the body is split (between CR and LF too)', () => {
    for (let i = 0; i <= BODY.length; i++)
      expect(parseAll([BODY.slice(0, i), BODY.slice(i)])).toEqual(EXPECTED);
    fc.assert(
      fc.property(fc.array(fc.nat(), { maxLength: 40 }), (at) => {
        expect(parseAll(cut(BODY, at))).toEqual(EXPECTED);
      }),
      { numRuns: 300 },
    );
    expect(parseAll([...BODY])).toEqual(EXPECTED); // one character at a time
  });

  it('dispatches nothing for a block without data, and drops an unterminated last event', () => {
    expect(parseAll(['event: token\n\n', 'data: {}\n\n', 'event: done\ndata: {}'])).toEqual([
      { event: 'message', data: '{}' },
    ]);
  });
});
