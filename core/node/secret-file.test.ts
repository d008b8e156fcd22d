import { mkdtempSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { persistentSecret } from './secret-file.js';

describe('persistentSecret', () => {
  it('makes a secret once, readable by its owner only, and gives the same one after', () => {
    const file = join(mkdtempSync(join(tmpdir(), 'tailor-secret-')), 'nested', 'url-secret');
    const first = persistentSecret(file);
    expect(first.length).toBeGreaterThanOrEqual(32);
    expect(persistentSecret(file)).toBe(first);
    expect(statSync(file).mode & 0o777).toBe(0o600);
  });
});
