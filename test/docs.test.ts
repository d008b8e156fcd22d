// The API reference at /docs in a real browser (Chromium): Swagger UI over /openapi.json, every file from the
// platform itself, and "try it out" sending a real request with the token typed in.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type RunningServer, startServer } from '../runtime/node/launch.js';
import { launchBrowser } from './support/browser.js';
import { ADMIN } from './support/platform.js';

let server: RunningServer;
let browser: Browser;
let dataDir: string;

beforeAll(async () => {
  dataDir = mkdtempSync(join(tmpdir(), 'tailor-docs-'));
  [server, browser] = await Promise.all([
    startServer({ TAILOR_DATA_DIR: dataDir, ADMIN_TOKEN: ADMIN, TAILOR_WORKER: '0' }),
    launchBrowser(),
  ]);
}, 120_000);
afterAll(async () => {
  await browser?.close();
  await server?.stop();
  rmSync(dataDir, { recursive: true, force: true });
});

describe('GET /docs', () => {
  it('renders every operation from /openapi.json with files served by the platform only', async () => {
    const page = await browser.newPage();
    const requested: string[] = [];
    page.on('request', (r) => requested.push(r.url()));
    await page.goto(`${server.url}/docs`);
    await page.waitForSelector('.opblock-summary-path', { timeout: 30_000 });
    const paths = await page.$$eval('.opblock-summary-path', (els) => els.map((e) => e.textContent?.trim()));
    const doc = await (await fetch(`${server.url}/openapi.json`)).json();
    const operations = Object.values(doc.paths as Record<string, object>).reduce(
      (n: number, ops) => n + Object.keys(ops).length,
      0,
    );
    expect(paths.length).toBe(operations);
    expect(paths).toContain('/v1/generate');
    expect(paths).toContain('/admin/apps/{app}/settings');
    expect(requested.length).toBeGreaterThan(2);
    expect(requested.filter((u) => !u.startsWith(server.url))).toEqual([]);
    await page.close();
  }, 60_000);

  it('tries an operation out: the admin token typed in, the answer shown', async () => {
    const page = await browser.newPage();
    await page.goto(`${server.url}/docs`);
    await page.click('.scheme-container button.authorize');
    const admin = page.locator('.auth-container', { hasText: 'adminToken' });
    await admin.locator('input').fill(ADMIN);
    await admin.locator('button.authorize').click();
    await page.click('.modal-ux button.close-modal');
    const op = page.locator('#operations-apps-get_admin_apps');
    await op.locator('.opblock-summary').click();
    await op.locator('button.execute').click();
    const live = op.locator('.live-responses-table tbody .response-col_status');
    await live.first().waitFor({ timeout: 30_000 });
    expect((await live.first().textContent())?.trim()).toBe('200');
    const body = await op
      .locator('.live-responses-table .response-col_description pre')
      .first()
      .textContent();
    expect(JSON.parse(body ?? '{}')).toHaveProperty('items');
    await page.close();
  }, 60_000);
});
