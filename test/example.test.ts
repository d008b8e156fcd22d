// The example app (/example/) in Chromium, against the platform process, and CORS from a page on another
// origin. The page generates on the server and then on the device (the SDK's `local`: the base model and the
// reader's adapter downloaded through signed links, run by onnxruntime-web in the page): the two greedy texts
// are equal. Feedback sent from the page reaches the admin listing. After the reader is erased the device's
// cached adapter files are dropped. A token that comes in a link is shown (whose, which app, until when) and
// used only once the reader confirms it. A page served from another origin may call /v1 with a user token only
// when the app allows that origin, and may read signed downloads.

import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../core/config.js';
import type { Database } from '../core/db/database.js';
import { openBlobStore, openDatabase } from '../core/node/open.js';
import { signUserToken } from '../functions/auth/jwt.js';
import { type RunningServer, startServer } from '../runtime/node/launch.js';
import { launchBrowser } from './support/browser.js';
import { ADMIN } from './support/platform.js';
import type { PostgresServer } from './support/postgres.js';
import { callJson, freshDatabase, seedActiveAdapter } from './support/processes.js';

type App = { app_id: string; api_key: string; signing_secret: string };
let server: RunningServer;
let dataDir: string;
let pg: { url: string; server?: PostgresServer };
let database: Database;
let browser: Browser;
let other: Server;
let otherOrigin: string;
let allowed: App;
let refused: App;
const READER = 'reader-1';

const call = (method: string, path: string, key: string, body?: unknown) =>
  callJson(server.url, method, path, key, body);
const tokenOf = (app: App, user: string) =>
  signUserToken({ sub: user, exp: Math.floor(Date.now() / 1000) + 3600 }, app.signing_secret, app.app_id);

beforeAll(async () => {
  dataDir = mkdtempSync(join(tmpdir(), 'tailor-example-'));
  pg = await freshDatabase('tailor_example');
  server = await startServer({
    TAILOR_DATA_DIR: dataDir,
    ADMIN_TOKEN: ADMIN,
    DATABASE_URL: pg.url,
    S3_BUCKET: '',
    S3_ENDPOINT: '',
    ENGINE_THREADS: '1',
    TAILOR_WORKER: '0',
    RATE_LIMIT_PER_MINUTE: '0',
    RATE_LIMIT_PER_USER_PER_MINUTE: '0',
  });
  // A page on another origin: a blank page the test drives.
  other = createServer((_, res) =>
    res.writeHead(200, { 'content-type': 'text/html' }).end('<!doctype html>'),
  );
  await new Promise<void>((r) => other.listen(0, '127.0.0.1', r));
  otherOrigin = `http://127.0.0.1:${(other.address() as AddressInfo).port}`;

  allowed = (await call('POST', '/admin/apps', ADMIN, { name: 'reader-app' })).json;
  refused = (await call('POST', '/admin/apps', ADMIN, { name: 'closed-app' })).json;
  const patched = await call('PATCH', `/admin/apps/${allowed.app_id}/settings`, ADMIN, {
    cors: { allowed_origins: [otherOrigin] },
  });
  expect(patched.status).toBe(200);
  // The reader's adapter, written where the server reads (its database, its storage directory).
  const config = loadConfig({
    TAILOR_DATA_DIR: dataDir,
    DATABASE_URL: pg.url,
    S3_BUCKET: '',
    S3_ENDPOINT: '',
  });
  database = await openDatabase(config.database);
  const store = openBlobStore(config.storage);
  await seedActiveAdapter(database.db, store, { appId: allowed.app_id, userId: READER }, 'v1', 21);
  browser = await launchBrowser();
}, 180_000);

afterAll(async () => {
  await browser?.close();
  await server?.stop();
  await database?.close();
  other?.close();
  await pg?.server?.stop();
  if (dataDir) rmSync(dataDir, { recursive: true, force: true });
});

async function generateOnPage(page: Page, where: 'server' | 'device', timeout: number) {
  await page.check(`input[name=where][value=${where}]`);
  await page.click('#generate');
  await page.waitForSelector('#story[data-state=done], #story[data-state=error]', { timeout });
  const state = await page.getAttribute('#story', 'data-state');
  if (state !== 'done') throw new Error(`the page failed: ${await page.textContent('#status')}`);
  expect(await page.getAttribute('#story', 'data-where')).toBe(where);
  return {
    text: (await page.textContent('#story')) ?? '',
    status: (await page.textContent('#status')) ?? '',
  };
}

const cachedUrls = (page: Page) =>
  page.evaluate(async () => (await (await caches.open('tailor')).keys()).map((r) => r.url));

describe('the example app', () => {
  let page: Page;
  const errors: string[] = [];

  beforeAll(async () => {
    page = await browser.newPage();
    page.on('pageerror', (e) => errors.push(String(e)));
    const calls: string[] = [];
    page.on('request', (r) => {
      if (new URL(r.url()).pathname.startsWith('/v1/')) calls.push(r.url());
    });
    const token = await tokenOf(allowed, READER);
    await page.goto(`${server.url}/example/#token=${token}`);
    // A link's token is not used until the reader says it is theirs: the page shows whose it is, and asks.
    await page.waitForSelector('#confirm:not([hidden])');
    expect(await page.textContent('#confirm-user')).toBe(READER);
    expect(await page.textContent('#confirm')).toContain(allowed.app_id);
    expect(await page.isHidden('#reader')).toBe(true);
    expect(page.url()).not.toContain(token); // out of the address bar and the history at once
    expect(await page.evaluate(() => location.href)).toBe(`${server.url}/example/`);
    expect(await page.evaluate(() => sessionStorage.getItem('tailor-token'))).toBeNull();
    await page.waitForTimeout(300);
    expect(calls).toEqual([]);
    await page.click('#confirm-yes');
    await page.waitForSelector('#reader:not([hidden])');
    expect(await page.textContent('#status')).toContain(READER);
    await page.fill('#prompt', 'The detective opened the door and');
    await page.check('#greedy');
  }, 60_000);
  afterAll(() => page?.close());

  it('generates on the server and on the device, the same greedy text, with the reader’s adapter', async () => {
    const onServer = await generateOnPage(page, 'server', 60_000);
    expect(onServer.text.length).toBeGreaterThan(0);
    expect(onServer.status).toContain('adapter v1');
    const onDevice = await generateOnPage(page, 'device', 120_000);
    expect(onDevice.status).toContain('adapter v1');
    expect(onDevice.text).toBe(onServer.text);
    // A second run comes from the engine already in the page.
    const again = await generateOnPage(page, 'device', 60_000);
    expect(again.text).toBe(onServer.text);
    const serverAgain = await generateOnPage(page, 'server', 60_000);
    expect(serverAgain.text).toBe(onServer.text);
    console.log(
      `[example] server: ${onServer.status}\n[example] device: ${onDevice.status}\n[example] device again: ${again.status}\n[example] server again: ${serverAgain.status}`,
    );
    expect(errors).toEqual([]);
  }, 240_000);

  it('sends feedback from the page that the admin listing shows', async () => {
    await generateOnPage(page, 'server', 60_000);
    await page.click('#like');
    await page.waitForSelector('#sent[data-feedback-id]');
    const id = await page.getAttribute('#sent', 'data-feedback-id');
    const listed = await call('GET', `/admin/apps/${allowed.app_id}/feedback?user=${READER}`, ADMIN);
    expect(listed.status).toBe(200);
    expect(listed.json.items.map((f: { id: string }) => f.id)).toContain(id);
  }, 120_000);

  it('drops the cached adapter once the reader is erased', async () => {
    const before = await cachedUrls(page);
    const adapter = (await call('GET', `/v1/users/${READER}/adapter`, allowed.api_key)).json;
    const weights = adapter.files.find((f: { name: string }) => f.name === 'adapter_model.safetensors');
    expect(before.some((u) => u.endsWith(weights.sha256))).toBe(true);
    expect((await call('DELETE', `/v1/users/${READER}`, allowed.api_key)).status).toBe(204);
    await page.reload();
    await page.check('#greedy');
    const base = await generateOnPage(page, 'device', 120_000);
    expect(base.status).toContain('adapter none');
    const after = await cachedUrls(page);
    expect(after.some((u) => u.endsWith(weights.sha256))).toBe(false);
    expect(after.length).toBeGreaterThan(0); // the base model stays cached
  }, 240_000);
});

describe("a link carrying someone else's token", () => {
  it('is dropped on cancel: nothing signed in, nothing called, the token gone from the tab', async () => {
    const page = await browser.newPage();
    try {
      const calls: string[] = [];
      page.on('request', (r) => {
        if (new URL(r.url()).pathname.startsWith('/v1/')) calls.push(r.url());
      });
      const token = await tokenOf(allowed, 'attacker-1');
      await page.goto(`${server.url}/example/#token=${token}`);
      await page.waitForSelector('#confirm:not([hidden])');
      expect(await page.textContent('#confirm-user')).toBe('attacker-1');
      await page.click('#confirm-no');
      await page.waitForSelector('#signin', { state: 'visible' });
      expect(await page.isHidden('#reader')).toBe(true);
      expect(await page.evaluate(() => sessionStorage.getItem('tailor-token'))).toBeNull();
      expect(page.url()).not.toContain(token);
      await page.reload(); // the history kept no token either
      await page.waitForSelector('#signin', { state: 'visible' });
      expect(await page.isHidden('#confirm')).toBe(true);
      expect(calls).toEqual([]);
    } finally {
      await page.close();
    }
  });
});

describe('a page on another origin', () => {
  let page: Page;
  beforeAll(async () => {
    page = await browser.newPage();
    await page.goto(otherOrigin);
  });
  afterAll(() => page?.close());

  /** fetch from the page: the JSON answer, or the browser's refusal. */
  const fetchFromPage = (url: string, token: string) =>
    page.evaluate(
      async ({ url, token }) => {
        try {
          const res = await fetch(url, {
            method: 'POST',
            headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
            body: JSON.stringify({ prompt: 'Once', max_tokens: 2 }),
          });
          return { status: res.status, body: await res.text() };
        } catch (e) {
          return { refused: String(e) };
        }
      },
      { url, token },
    );

  it('may call /v1 with a user token of an app that allows its origin', async () => {
    const r = await fetchFromPage(`${server.url}/v1/generate`, await tokenOf(allowed, 'reader-2'));
    expect(r).toMatchObject({ status: 200 });
    expect(JSON.parse((r as { body: string }).body).text).toEqual(expect.any(String));
  });

  it('is refused by the browser for an app that does not allow it, and nothing is generated', async () => {
    const r = await fetchFromPage(`${server.url}/v1/generate`, await tokenOf(refused, 'reader-3'));
    expect(r).toMatchObject({ refused: expect.stringContaining('Failed to fetch') });
    const users = await call('GET', `/admin/apps/${refused.app_id}/users`, ADMIN);
    expect(users.json.items).toEqual([]);
  });

  it('may read the base model files through signed links', async () => {
    const files = (await call('GET', '/v1/models/brown-4m/files', allowed.api_key)).json.files;
    const config = files.find((f: { name: string }) => f.name === 'config.json');
    const got = await page.evaluate(async (url) => {
      const res = await fetch(url);
      return { status: res.status, size: (await res.arrayBuffer()).byteLength };
    }, config.url);
    expect(got).toEqual({ status: 200, size: config.size });
  });
});
