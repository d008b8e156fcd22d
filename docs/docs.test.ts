// The documentation stands on its own: every link in the READMEs and docs/ resolves inside the repository (no
// file, no anchor missing, nothing outside it), and the environment table is the config schema's.
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { REPO_ROOT } from '../core/node/repo.js';
import { OPERATIONS, withEnvTable } from './env-table.js';

const SKIP = new Set(['node_modules', '.git', '.tailor', 'dist', 'tmp', 'data', '.wrangler', '.venv']);

function markdown(dir = REPO_ROOT): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = join(dir, e.name);
    if (e.isDirectory()) return SKIP.has(e.name) ? [] : markdown(p);
    return e.name.endsWith('.md') ? [p] : [];
  });
}

/** GitHub's anchor for a heading. */
const anchor = (heading: string) =>
  heading
    .trim()
    .toLowerCase()
    .replace(/[^\p{L}\p{N} _-]/gu, '')
    .replace(/ /g, '-');

const files = markdown();

describe('the documentation', () => {
  it('has the guide, the architecture and the operations pages, each linked from the README', () => {
    const readme = readFileSync(join(REPO_ROOT, 'README.md'), 'utf8');
    for (const page of ['docs/architecture.md', 'docs/api.md', 'docs/operations.md']) {
      expect(existsSync(join(REPO_ROOT, page)), page).toBe(true);
      expect(readme, page).toContain(`](${page}`);
    }
  });

  it('links only to files and headings inside the repository', () => {
    const broken: string[] = [];
    for (const file of files) {
      const text = readFileSync(file, 'utf8').replace(/```[\s\S]*?```/g, '');
      for (const m of text.matchAll(/\]\(([^)\s]+)\)/g)) {
        const link = m[1] as string;
        if (/^(https?:|mailto:)/.test(link)) continue; // a public page (none needs to be read to run Tailor)
        const [path, hash] = link.split('#') as [string, string | undefined];
        const target = path ? resolve(dirname(file), path) : file;
        const where = `${relative(REPO_ROOT, file)} → ${link}`;
        if (!target.startsWith(`${REPO_ROOT}/`) && target !== REPO_ROOT) broken.push(`${where} (outside)`);
        else if (!existsSync(target)) broken.push(`${where} (missing)`);
        else if (hash && statSync(target).isFile() && target.endsWith('.md')) {
          const headings = [...readFileSync(target, 'utf8').matchAll(/^#+ (.*)$/gm)].map((h) =>
            anchor(h[1] as string),
          );
          if (!headings.includes(hash)) broken.push(`${where} (no such heading)`);
        }
      }
    }
    expect(broken).toEqual([]);
    expect(files.length).toBeGreaterThan(15);
  });

  it('never points at the files beside the repository', () => {
    const outside = files.filter((f) => /\.\.\/shared\b/.test(readFileSync(f, 'utf8')));
    expect(outside.map((f) => relative(REPO_ROOT, f))).toEqual([]);
  });

  it('lists every environment variable with its default, as the config schema says (npm run docs:env)', () => {
    const doc = readFileSync(OPERATIONS, 'utf8');
    expect(withEnvTable(doc)).toBe(doc);
  });
});
