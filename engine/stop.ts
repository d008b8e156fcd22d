// Stop strings over streamed text. Text is released only once no stop string can start inside it, so a
// stop string split across tokens is caught and none of its prefix ever reaches the stream; the final text
// ends right before the earliest stop string.

export class StopMatcher {
  private pending = '';
  private readonly stops: string[];
  private readonly longest: number;

  constructor(stops: readonly string[] = []) {
    this.stops = [...new Set(stops.filter((s) => s.length > 0))];
    this.longest = Math.max(0, ...this.stops.map((s) => s.length));
  }

  /** Feeds text; returns what may be released now, and whether a stop string was hit (then stop feeding). */
  push(text: string): { text: string; stopped: boolean } {
    if (this.stops.length === 0) return { text, stopped: false };
    // Released text holds no stop-string start, so a match must begin inside `pending`.
    const buf = this.pending + text;
    let hit = -1;
    for (const s of this.stops) {
      const i = buf.indexOf(s);
      if (i >= 0 && (hit < 0 || i < hit)) hit = i;
    }
    if (hit >= 0) {
      this.pending = '';
      return { text: buf.slice(0, hit), stopped: true };
    }
    // Hold back the longest tail that is a proper prefix of some stop string.
    let keep = 0;
    for (let n = Math.min(this.longest - 1, buf.length); n > 0; n--) {
      const tail = buf.slice(buf.length - n);
      if (this.stops.some((s) => s.startsWith(tail))) {
        keep = n;
        break;
      }
    }
    // Never split a surrogate pair between the released text and the held tail.
    let cut = buf.length - keep;
    if (cut > 0 && cut < buf.length && isHighSurrogate(buf.charCodeAt(cut - 1))) cut--;
    this.pending = buf.slice(cut);
    return { text: buf.slice(0, cut), stopped: false };
  }

  /** The held text, once generation ends without a stop string (it was not one after all). */
  flush(): string {
    const t = this.pending;
    this.pending = '';
    return t;
  }
}

function isHighSurrogate(c: number): boolean {
  return c >= 0xd800 && c <= 0xdbff;
}
