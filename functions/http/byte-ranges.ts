// HTTP's conditional and range requests as a download route answers them (RFC 9110 §13, §14): which part of
// a file of `size` bytes a `Range` header asks for, and whether an `If-None-Match` names the file's ETag.

/** What a Range header asks of a file: all of it (no header, or one to ignore), one range, or nothing it has. */
export type RangeAsk =
  | { kind: 'whole' }
  | { kind: 'range'; start: number; end: number }
  | { kind: 'unsatisfiable' };

const DIGITS = /^\d{1,15}$/; // beyond 15 digits a byte offset is no file's, and Number would round it

/**
 * One range, `bytes=a-b`, `bytes=a-` or `bytes=-n` (the last n bytes), `end` clamped to the last byte.
 * Several ranges (`bytes=0-1,5-9`) would need a multipart answer: they are ignored, and the whole file
 * answered (200), as RFC 9110 lets a server do; so is a header that is not a valid bytes range.
 */
export function parseRange(header: string | undefined, size: number): RangeAsk {
  if (header === undefined) return { kind: 'whole' };
  const m = /^bytes=([^,]*)$/i.exec(header.trim());
  if (!m) return { kind: 'whole' };
  const spec = (m[1] as string).trim();
  const dash = spec.indexOf('-');
  if (dash < 0) return { kind: 'whole' };
  const first = spec.slice(0, dash).trim();
  const last = spec.slice(dash + 1).trim();
  if (first === '') {
    if (!DIGITS.test(last)) return { kind: 'whole' };
    const n = Number(last);
    if (n === 0 || size === 0) return { kind: 'unsatisfiable' };
    return { kind: 'range', start: Math.max(0, size - n), end: size - 1 };
  }
  if (!DIGITS.test(first) || (last !== '' && !DIGITS.test(last))) return { kind: 'whole' };
  const start = Number(first);
  if (last !== '' && Number(last) < start) return { kind: 'whole' }; // not a range at all
  if (start >= size) return { kind: 'unsatisfiable' };
  return { kind: 'range', start, end: last === '' ? size - 1 : Math.min(Number(last), size - 1) };
}

/** Whether `If-None-Match` names `etag` (quoted), or is `*`; weak tags compare by their value (§13.1.2). */
export function noneMatch(header: string | undefined, etag: string): boolean {
  if (header === undefined) return false;
  if (header.trim() === '*') return true;
  return header.split(',').some((t) => t.trim().replace(/^W\//, '') === etag);
}

/** `If-Range`: the range applies only while the file is still the one the client has part of (strong ETag). */
export function rangeStillApplies(ifRange: string | undefined, etag: string | undefined): boolean {
  return ifRange === undefined || (etag !== undefined && ifRange.trim() === etag);
}
