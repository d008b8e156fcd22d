// A stand-in for the trainer's Python: a shell script that reads the job, ignores its arguments and then
// misbehaves as told (crashes, hangs, prints a broken result). Pass its path as the trainer's `python`.
import { chmodSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export function fakePython(body: string): string {
  const path = join(mkdtempSync(join(tmpdir(), 'tailor-fake-trainer-')), 'python');
  writeFileSync(path, `#!/bin/sh\ncat > /dev/null\n${body}\n`);
  chmodSync(path, 0o755);
  return path;
}
