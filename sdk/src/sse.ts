// Server-Sent Events, parsed incrementally as the WHATWG spec reads them: lines end with CRLF, LF or CR (a
// chunk may end between the CR and the LF), `event:` and `data:` fields (several data lines join with "\n"),
// one optional space after the colon, `:` comments ignored, an event dispatched at a blank line.

export interface SseEvent {
  event: string;
  data: string;
  id?: string;
}

export class SseParser {
  private buf = '';
  private event = '';
  private data: string[] = [];
  private id: string | undefined;

  /** Feeds a piece of the body (split anywhere); returns the events it completed. */
  push(chunk: string): SseEvent[] {
    this.buf += chunk;
    const out: SseEvent[] = [];
    let start = 0;
    for (let i = 0; i < this.buf.length; i++) {
      const ch = this.buf[i];
      if (ch !== '\n' && ch !== '\r') continue;
      // A CR last in the buffer may be the first half of a CRLF: wait for the next chunk.
      if (ch === '\r' && i === this.buf.length - 1) break;
      this.line(this.buf.slice(start, i), out);
      if (ch === '\r' && this.buf[i + 1] === '\n') i++;
      start = i + 1;
    }
    this.buf = this.buf.slice(start);
    return out;
  }

  /** The body ended: a last line without its terminator counts; an event not closed by a blank line does not. */
  end(): SseEvent[] {
    const out: SseEvent[] = [];
    const rest = this.buf.endsWith('\r') ? this.buf.slice(0, -1) : this.buf;
    this.buf = '';
    if (rest) this.line(rest, out);
    this.event = '';
    this.data = [];
    return out;
  }

  private line(line: string, out: SseEvent[]): void {
    if (line === '') {
      if (this.data.length > 0) {
        out.push({
          event: this.event || 'message',
          data: this.data.join('\n'),
          ...(this.id !== undefined ? { id: this.id } : {}),
        });
      }
      this.event = '';
      this.data = [];
      return;
    }
    if (line.startsWith(':')) return;
    const colon = line.indexOf(':');
    const field = colon < 0 ? line : line.slice(0, colon);
    let value = colon < 0 ? '' : line.slice(colon + 1);
    if (value.startsWith(' ')) value = value.slice(1);
    if (field === 'event') this.event = value;
    else if (field === 'data') this.data.push(value);
    else if (field === 'id' && !value.includes('\0')) this.id = value;
  }
}
