// A secret generated once and kept in a file of the data dir (mode 0600), so what it signs (download links)
// survives restarts. Several processes on one data dir share it; processes on different machines need the
// setting itself (TAILOR_URL_SECRET).
import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';

export function persistentSecret(file: string): string {
  try {
    const kept = readFileSync(file, 'utf8').trim();
    if (kept.length >= 32) return kept;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
  }
  mkdirSync(dirname(file), { recursive: true });
  const secret = randomBytes(32).toString('base64url');
  try {
    writeFileSync(file, `${secret}\n`, { mode: 0o600, flag: 'wx' }); // another process may win the race
    return secret;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'EEXIST') return readFileSync(file, 'utf8').trim();
    throw e;
  }
}

/**
 * The platform's secret (TAILOR_URL_SECRET, else the one kept in the data dir): it signs download links and keys
 * the hash erased users are known by, so the API processes and the training workers of one database share it.
 */
export function platformSecret(config: { urlSecret?: string; dataDir: string }): string {
  return config.urlSecret ?? persistentSecret(join(config.dataDir, 'url-secret'));
}
