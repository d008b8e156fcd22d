// The console in a real browser (Debian's Chromium through playwright-core) against the platform as the
// README starts it (`npm start`, a fresh data dir, the generated admin token), seeded through the public API:
// an app, readers with feedback, training cycles. Writes a screenshot of every page to web/screenshots/.
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REPO_ROOT } from '../core/node/repo.js';
import { heldoutMaterial } from '../runtime/demo/readers.js';
import { freePort, type RunningServer, startServer } from '../runtime/node/launch.js';
import { launchBrowser } from './support/browser.js';

const SHOTS = join(REPO_ROOT, 'web', 'screenshots');

let dataDir: string;
let server: RunningServer;
let admin: string;
let browser: Browser;
let page: Page;
let appId: string;
let key: string;
const problems: string[] = [];
let feedbackSent = 0;

async function call(method: string, path: string, o: { key?: string; body?: unknown } = {}) {
  const res = await fetch(server.url + path, {
    method,
    headers: {
      authorization: `Bearer ${o.key ?? admin}`,
      ...(o.body !== undefined ? { 'content-type': 'application/json' } : {}),
    },
    ...(o.body !== undefined ? { body: JSON.stringify(o.body) } : {}),
  });
  const text = await res.text();
  return { status: res.status, json: text ? JSON.parse(text) : undefined };
}

async function train(users: string[]) {
  const run = await call('POST', '/admin/training/run', { body: { app: appId, users, wait: true } });
  const outcome = run.json.jobs[0]?.result?.users?.[0];
  if (!outcome) throw new Error(`training gave no outcome: ${JSON.stringify(run.json)}`);
  return outcome as { version: string; status: string };
}

const shot = (name: string) => page.screenshot({ path: join(SHOTS, `${name}.png`), fullPage: true });
const nav = (label: string) => page.getByRole('link', { name: label, exact: true }).click();

beforeAll(async () => {
  dataDir = mkdtempSync(join(tmpdir(), 'tailor-console-'));
  const port = await freePort();
  server = await startServer(
    { ...process.env, PORT: String(port), TAILOR_DATA_DIR: dataDir, ADMIN_TOKEN: '' },
    { command: ['npm', 'start'], cwd: REPO_ROOT, exactEnv: true, timeoutMs: 240_000 },
  );
  admin = /ADMIN_TOKEN=(\S+)/.exec(server.output())?.[1] ?? '';
  expect(server.output()).toContain('/console/');

  // Seed: an app, a reader with two trained versions, another with a little feedback, some generations.
  const made = await call('POST', '/admin/apps', { body: { name: 'storybook' } });
  appId = made.json.app_id;
  key = made.json.api_key;
  const [story] = heldoutMaterial({ stories: 1 }).stories;
  if (!story) throw new Error('no held-out story');
  const like = (user: string, text: string, i: number) => {
    feedbackSent++;
    return call('POST', '/v1/feedback', {
      key,
      body: { user, text, rating: 1, idempotency_key: `${user}-${i}` },
    });
  };
  feedbackSent += 2; // bo's dislike and edit
  for (const [i, text] of story.liked.slice(0, 16).entries()) await like('ada', text, i);
  await call('POST', '/v1/feedback', { key, body: { user: 'bo', text: 'A dull passage.', rating: -1 } });
  await call('POST', '/v1/feedback', {
    key,
    body: { user: 'bo', text: 'He said so.', rating: -1, edited_text: 'He whispered it.' },
  });
  for (const user of ['ada', 'bo', 'cy'])
    await call('POST', '/v1/generate', { key, body: { user, prompt: 'The night was', max_tokens: 12 } });
  const v1 = await train(['ada']);
  if (v1.status !== 'active')
    await call('POST', '/admin/adapters/promote', { body: { app: appId, user: 'ada', version: v1.version } });
  for (const [i, text] of [...story.liked.slice(16), ...story.future.slice(0, 6)].entries())
    await like('ada', text, 100 + i);
  const v2 = await train(['ada']);
  // The gate may keep v1; the console's rollback needs a version before the active one either way.
  if (v2.status !== 'active')
    await call('POST', '/admin/adapters/promote', { body: { app: appId, user: 'ada', version: v2.version } });

  mkdirSync(SHOTS, { recursive: true });
  browser = await launchBrowser();
  page = await browser.newPage({ viewport: { width: 1366, height: 900 } });
  page.on('console', (m) => {
    if (m.type() === 'error') problems.push(`console: ${m.text()}`);
  });
  page.on('pageerror', (e) => problems.push(`page: ${e.message}`));
}, 420_000);

afterAll(async () => {
  await browser?.close();
  await server?.stop();
  if (dataDir) rmSync(dataDir, { recursive: true, force: true });
});

describe('the console', () => {
  it('refuses a wrong token with a message, then signs in with the printed one', async () => {
    await page.goto(`${server.url}/console/`);
    await page.getByLabel('Admin token').fill('not-the-token');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await expect.poll(() => page.getByRole('alert').textContent()).toContain('not the admin token');
    await shot('sign-in');
    // The 401 of the refused token is the browser's own console line; it is not the app's error.
    problems.length = 0;
    await page.getByLabel('Admin token').fill(admin);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('heading', { name: 'Overview' }).waitFor();
    expect(page.url()).not.toContain(admin);
  });

  it('charts the seeded counts on the overview', async () => {
    await expect.poll(() => page.getByTestId('stat-Generations').textContent()).toBe('3');
    expect(await page.getByTestId('stat-Feedback').textContent()).toBe(String(feedbackSent));
    expect(await page.getByTestId('stat-Users with an adapter').textContent()).toBe('1');
    expect(await page.locator('.recharts-surface').count()).toBeGreaterThanOrEqual(5);
    await shot('overview');
  });

  it('creates an app and shows its key once', async () => {
    await nav('Apps');
    await page.getByRole('cell', { name: 'storybook' }).waitFor();
    await page.getByRole('button', { name: 'New app' }).click();
    await page.getByLabel('Name').fill('second-app');
    await page.getByRole('button', { name: 'Create' }).click();
    const shown = (await page.getByTestId('secret-API key').textContent()) ?? '';
    expect(shown).toMatch(/^tlk_/);
    const gen = await call('POST', '/v1/generate', {
      key: shown,
      body: { user: 'x', prompt: 'Hi', max_tokens: 1 },
    });
    expect(gen.status).toBe(200);
    await page.getByRole('button', { name: 'Done' }).click();
    // Back to the seeded app for the pages that follow.
    await page.getByRole('button', { name: 'storybook' }).click();
    await shot('apps');
  });

  it('finds a reader, shows their versions and chart, and rolls back after comparing', async () => {
    await nav('Users');
    await page.getByLabel('Find a user').fill('ad');
    await page.getByRole('link', { name: 'ada' }).click();
    const before = (await call('GET', '/v1/users/ada/adapter', { key })).json.version;
    await expect.poll(() => page.getByTestId('active-version').textContent()).toBe(before);
    await page.locator('[data-testid^="version-"]').nth(1).waitFor();
    expect(await page.locator('.recharts-line').count()).toBeGreaterThanOrEqual(2);
    // the general-text guard: its chart, and each trained version's change vs the base model in the table
    await page.getByText('General text across versions').waitFor();
    expect(await page.locator('[data-testid^="version-"]').first().textContent()).toMatch(/[+-]\d+\.\d\d %/);
    // what each version is: the real trainer's recipe (LoRA and its rank)
    expect(await page.locator('[data-testid^="version-"]').first().textContent()).toMatch(/LoRA r8/);
    await shot('user');
    await page.getByRole('button', { name: /^Roll back to/ }).click();
    await page.getByRole('button', { name: 'Generate both' }).click();
    await expect.poll(() => page.getByTestId('side-text-1').textContent(), { timeout: 30_000 }).not.toBe('');
    await expect
      .poll(
        () =>
          page
            .getByTestId('side-0')
            .getByText(/^adapter /)
            .count(),
        { timeout: 30_000 },
      )
      .toBe(1);
    await shot('rollback-compare');
    await page
      .getByRole('dialog')
      .getByRole('button', { name: /^Roll back to/ })
      .click();
    await expect
      .poll(() => page.getByTestId('active-version').textContent(), { timeout: 15_000 })
      .not.toBe(before);
    const after = (await call('GET', '/v1/users/ada/adapter', { key })).json.version;
    expect(after).not.toBe(before);
    expect(await page.getByTestId('active-version').textContent()).toBe(after);
  });

  it("runs a cycle and follows the job's progress to done", async () => {
    await nav('Training');
    await page.getByRole('combobox', { name: 'Users (optional)' }).fill('ada');
    await page.keyboard.press('Enter');
    await page.getByRole('button', { name: 'Run a cycle now' }).click();
    await expect
      .poll(() => page.getByTestId('detail-status').textContent(), { timeout: 180_000, interval: 1000 })
      .toBe('succeeded');
    expect(await page.getByTestId('job-log').textContent()).toContain('training 1 adapter');
    expect(await page.getByRole('dialog').locator('.recharts-line').count()).toBe(1);
    await shot('training-job');
    await page.keyboard.press('Escape');
    await shot('training');
  }, 240_000);

  it('generates base and personalized side by side in the playground', async () => {
    await nav('Playground');
    await page.getByLabel('User', { exact: true }).fill('ada');
    await page.getByRole('button', { name: 'Generate both' }).click();
    await expect.poll(() => page.getByTestId('side-text-0').textContent(), { timeout: 30_000 }).not.toBe('');
    await expect
      .poll(
        () =>
          page
            .getByTestId('side-1')
            .getByText(/^adapter /)
            .count(),
        { timeout: 30_000 },
      )
      .toBe(1);
    await expect
      .poll(() => page.getByTestId('side-0').getByText('base model', { exact: true }).count(), {
        timeout: 30_000,
      })
      .toBe(1);
    await page.getByRole('button', { name: 'Score under both' }).click();
    await expect.poll(() => page.getByTestId('scores').textContent()).toContain('nats/token');
    // With the user's memory on, both sides say which of ada's passages came before the prompt.
    expect(await page.getByTestId('side-1').textContent()).not.toContain('memory:');
    await page.getByLabel("User's memory").check();
    await page.getByRole('button', { name: 'Generate both' }).click();
    await expect
      .poll(() => page.getByTestId('side-1').textContent(), { timeout: 30_000 })
      .toMatch(/memory: \d+ passages?, \d+ tokens/);
    await expect.poll(() => page.getByTestId('side-0').textContent()).toMatch(/memory: \d+ passages?/);
    await shot('playground');
  });

  it('shows the styles, the model card and the audit log', async () => {
    await nav('Styles');
    await page.getByText('No styles yet').waitFor();
    await shot('styles');
    await nav('Model');
    await page.getByText('Held-out perplexity by genre').waitFor();
    expect(await page.locator('.recharts-bar-rectangle').count()).toBeGreaterThan(10);
    await shot('model');
    await nav('Audit log');
    await page.getByText('adapter.rolled_back').first().waitFor();
    await shot('audit');
  });

  it('erases a reader once their id is typed again, and they are gone', async () => {
    await page.goto(`${server.url}/console/#/users/${appId}/bo`);
    await page.getByRole('button', { name: 'Erase user' }).click();
    const confirm = page.getByRole('button', { name: 'Erase bo' });
    expect(await confirm.isDisabled()).toBe(true);
    await page.getByLabel('Type the user id to confirm').fill('bo');
    await confirm.click();
    await page.getByRole('heading', { name: 'Users' }).waitFor();
    await expect.poll(async () => (await call('GET', `/admin/apps/${appId}/users/bo`)).status).toBe(404);
    expect(await page.getByRole('link', { name: 'bo', exact: true }).count()).toBe(0);
  });

  it('works on a phone-sized screen, and logged no errors', async () => {
    await page.setViewportSize({ width: 390, height: 844 });
    await page.goto(`${server.url}/console/#/`);
    await page.getByRole('button', { name: 'Navigation' }).click();
    await page.getByRole('link', { name: 'Training', exact: true }).click();
    await page.getByRole('heading', { name: 'Training' }).waitFor();
    await page.waitForTimeout(500); // the navigation drawer's closing transition
    await shot('phone-training');
    expect(problems).toEqual([]);
  });
});
