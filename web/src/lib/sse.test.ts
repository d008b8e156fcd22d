import { describe, expect, it } from 'vitest';
import { parseSse } from './sse';

const streamOf = (chunks: string[]) =>
  new ReadableStream<Uint8Array>({
    start(c) {
      for (const ch of chunks) c.enqueue(new TextEncoder().encode(ch));
      c.close();
    },
  });

describe('parseSse', () => {
  it('joins events split across chunks, multi-byte characters included', async () => {
    const bytes = new TextEncoder().encode('event: token\ndata: {"text":"é"}\n\nevent: done\ndata: {}\n\n');
    // Split inside the two-byte é and inside a line.
    const parts = [bytes.slice(0, 27), bytes.slice(27, 40), bytes.slice(40)];
    const stream = new ReadableStream<Uint8Array>({
      start(c) {
        for (const p of parts) c.enqueue(p);
        c.close();
      },
    });
    const events = [];
    for await (const e of parseSse(stream)) events.push(e);
    expect(events).toEqual([
      { event: 'token', data: '{"text":"é"}' },
      { event: 'done', data: '{}' },
    ]);
  });

  it('keeps multi-line data and takes CRLF line ends', async () => {
    const events = [];
    for await (const e of parseSse(streamOf(['data: a\r\ndata: b\r\n\r\n']))) events.push(e);
    expect(events).toEqual([{ event: 'message', data: 'a\nb' }]);
  });
});
