// The contract cannot drift: /openapi.json is generated from the route definitions, every route the app
// registers is in it, every schema in it is typed, and route tests hold answers to their documented schemas
// (test/support/contract.ts, used by every p.call).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checkAnswer } from '../../test/support/contract.js';
import { startPlatform, type TestPlatform } from '../../test/support/platform.js';

let p: TestPlatform;
let doc: { paths: Record<string, Record<string, any>>; components: { schemas: Record<string, unknown> } };

beforeAll(async () => {
  p = await startPlatform();
  doc = (await p.call('GET', '/openapi.json')).json;
}, 60_000);
afterAll(() => p.close());

/** Hono's path syntax as OpenAPI writes it; a trailing wildcard is the `{key}` of the signed-files route. */
const asOpenApi = (path: string) => path.replace(/:(\w+)/g, '{$1}').replace(/\/\*$/, '/{key}');
/** Served but not API operations: Swagger UI's own script and style files, the console's and the example app's pages and files. */
const NOT_OPERATIONS = new Set([
  'GET /docs/assets/{key}',
  'GET /console',
  'GET /console/{key}',
  'GET /example',
  'GET /example/{key}',
]);

describe('/openapi.json', () => {
  it('documents every route the app registers, and nothing it does not', () => {
    const registered = new Set(
      p.app.routes
        .filter((r) => r.method !== 'ALL')
        .map((r) => `${r.method} ${asOpenApi(r.path)}`)
        .filter((r) => !NOT_OPERATIONS.has(r)),
    );
    const documented = new Set(
      Object.entries(doc.paths).flatMap(([path, ops]) =>
        Object.keys(ops).map((m) => `${m.toUpperCase()} ${path}`),
      ),
    );
    expect([...registered].filter((r) => !documented.has(r))).toEqual([]);
    expect([...documented].filter((r) => !registered.has(r))).toEqual([]);
    for (const route of [
      'GET /admin/apps',
      'GET /admin/apps/{app}/generations',
      'GET /admin/jobs/{id}',
      'POST /admin/apps/{app}/styles',
      'POST /admin/apps/{app}/styles/import',
      'GET /admin/apps/{app}/settings',
      'PATCH /admin/apps/{app}/settings',
      'GET /admin/overview',
      'GET /admin/apps/{app}/effect',
      'POST /admin/apps/{app}/signing-secrets/rotate',
      'DELETE /admin/apps/{app}/users/{user}',
      'GET /admin/audit',
    ]) {
      expect(documented, route).toContain(route);
    }
  });

  it('gives every operation a summary, a success response with a schema, and its errors', () => {
    for (const [path, ops] of Object.entries(doc.paths)) {
      for (const [method, op] of Object.entries(ops)) {
        const where = `${method} ${path}`;
        expect(op.summary, where).toEqual(expect.any(String));
        const ok = Object.keys(op.responses).filter((s) => s.startsWith('2'));
        expect(ok.length, where).toBeGreaterThan(0);
        for (const s of ok) {
          if (s !== '204')
            expect(Object.keys(op.responses[s].content ?? {}).length, `${where} ${s}`).toBeGreaterThan(0);
        }
        if (path.startsWith('/admin/') || (path.startsWith('/v1/') && !path.startsWith('/v1/files/'))) {
          expect(op.security?.length, where).toBeGreaterThan(0);
          expect(
            Object.keys(op.responses).some((s) => s.startsWith('4')),
            where,
          ).toBe(true);
        }
      }
    }
  });

  it('types every schema: no field is left as "anything", every $ref resolves', () => {
    const untyped: string[] = [];
    const refs: string[] = [];
    const walk = (node: unknown, at: string) => {
      if (Array.isArray(node)) {
        for (const [i, n] of node.entries()) walk(n, `${at}[${i}]`);
        return;
      }
      if (!node || typeof node !== 'object') return;
      const o = node as Record<string, unknown>;
      if (typeof o.$ref === 'string') refs.push(o.$ref);
      for (const [k, v] of Object.entries(o)) {
        const isSchemaSlot =
          ['schema', 'items', 'additionalProperties'].includes(k) || at.endsWith('.properties');
        if (isSchemaSlot && v && typeof v === 'object' && !Array.isArray(v) && Object.keys(v).length === 0) {
          untyped.push(`${at}.${k}`);
        }
        walk(v, `${at}.${k}`);
      }
    };
    walk(doc, '');
    expect(untyped.filter((u) => !u.startsWith('.paths./openapi.json'))).toEqual([]);
    for (const r of refs)
      expect(doc.components.schemas, r).toHaveProperty(r.replace('#/components/schemas/', ''));
    expect(doc.components.schemas).toHaveProperty('Job');
    expect(doc.components.schemas).toHaveProperty('AppSettings');
    expect(doc.components.schemas).toHaveProperty('Effect');
  });
});

describe('the answer check the route tests run', () => {
  it('refuses an undocumented status, a body off its schema and an undocumented content type', () => {
    const gen = { method: 'POST', path: '/v1/generate' };
    expect(() => checkAnswer(p.app, gen, { status: 418, type: 'application/json', json: {} })).toThrow(
      /does not document/,
    );
    expect(() =>
      checkAnswer(p.app, gen, { status: 200, type: 'application/json', json: { id: 'g', text: 1 } }),
    ).toThrow(/does not match its schema/);
    expect(() => checkAnswer(p.app, gen, { status: 200, type: 'text/html', json: undefined })).toThrow(
      /answered text\/html/,
    );
    expect(() =>
      checkAnswer(
        p.app,
        { method: 'GET', path: '/admin/jobs/job_1' },
        { status: 422, type: 'application/json', json: { error: { code: 'x', message: 'y' } } },
      ),
    ).not.toThrow();
    expect(() =>
      checkAnswer(
        p.app,
        { method: 'GET', path: '/admin/jobs/job_1' },
        { status: 200, type: 'application/json', json: { id: 'job_1' } },
      ),
    ).toThrow(/schema/);
  });
});
