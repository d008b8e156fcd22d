// Byte encodings on Web APIs only (Node and Workers alike): base64url without padding, hex, SHA-256.

export function base64UrlEncode(bytes: Uint8Array): string {
  let bin = '';
  for (let i = 0; i < bytes.length; i += 0x8000) {
    bin += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  }
  return btoa(bin).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}

/** Null when `text` is not base64url (padding is not expected, nor refused when its length allows). */
export function base64UrlDecode(text: string): Uint8Array<ArrayBuffer> | null {
  if (!/^[A-Za-z0-9_-]*$/.test(text) || text.length % 4 === 1) return null;
  const padded = text.replace(/-/g, '+').replace(/_/g, '/') + '='.repeat((4 - (text.length % 4)) % 4);
  try {
    return Uint8Array.from(atob(padded), (c) => c.charCodeAt(0));
  } catch {
    return null;
  }
}

export function hex(bytes: Uint8Array): string {
  let out = '';
  for (const b of bytes) out += b.toString(16).padStart(2, '0');
  return out;
}

const utf8 = new TextEncoder();

/** Hex SHA-256 of the parts, concatenated (strings as UTF-8). */
export async function sha256Hex(...parts: (Uint8Array | string)[]): Promise<string> {
  const chunks = parts.map((p) => (typeof p === 'string' ? utf8.encode(p) : p));
  const all = new Uint8Array(chunks.reduce((n, c) => n + c.byteLength, 0));
  let at = 0;
  for (const c of chunks) {
    all.set(c, at);
    at += c.byteLength;
  }
  return hex(new Uint8Array(await crypto.subtle.digest('SHA-256', all)));
}
