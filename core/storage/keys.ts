// The one function that turns ids the API accepts (users, styles, apps) into storage key segments. Every
// id maps to a segment every driver accepts (no `.`/`..`, no separator, nothing a case-insensitive
// filesystem would fold together), and distinct ids map to distinct segments: the characters outside
// [a-z0-9_-] become `~` and two hex digits (`~` itself is outside every id alphabet, so it cannot collide).
const PLAIN = /^[a-z0-9_-]$/;

export function idSegment(id: string): string {
  if (id.length === 0) throw new RangeError('an id is never empty');
  let out = '';
  for (const ch of id) {
    const code = ch.codePointAt(0) as number;
    if (PLAIN.test(ch)) out += ch;
    else if (code < 0x80) out += `~${code.toString(16).padStart(2, '0')}`;
    else throw new RangeError(`ids are ASCII: ${JSON.stringify(id)}`);
  }
  return out;
}

/** The id a segment was made from (the inverse of idSegment). */
export function idFromSegment(segment: string): string {
  return segment.replace(/~([0-9a-f]{2})/g, (_, hex: string) =>
    String.fromCharCode(Number.parseInt(hex, 16)),
  );
}

/** Where a user's adapter versions live: `adapters/{app}/{user}/`. */
export const userAdaptersPrefix = (appId: string, userId: string) =>
  `adapters/${idSegment(appId)}/${idSegment(userId)}/`;

/** Where a style's versions live: `styles/{app}/{style}/`, outside adapters/ (a user named like a style is not it). */
export const styleAdaptersPrefix = (appId: string, styleId: string) =>
  `styles/${idSegment(appId)}/${idSegment(styleId)}/`;
