// `npm run tailor -- <command>`: the operator's command line. It talks to a running platform's admin API
// (TAILOR_URL, default http://127.0.0.1:8787, and ADMIN_TOKEN), so it works the same against the embedded
// platform (whose PGlite only one process may open) and a production deployment.
import { parseArgs } from 'node:util';
import { signUserToken } from '../../auth/jwt.js';

const HELP = `tailor — operate a Tailor platform

  tailor apps create <name>           create an app; prints its API key and signing secret (shown once)
  tailor apps list                    list apps
  tailor users <app>                  list an app's users
  tailor adapters <app> [user]        list adapter versions (of one user)
  tailor token <signing-secret> <user> [--ttl seconds]
                                      mint a user token (JWT HS256) for trying the API as a user

Environment: TAILOR_URL (default http://127.0.0.1:8787), ADMIN_TOKEN.`;

class CliError extends Error {}

async function admin(path: string, init: { method?: string; body?: unknown } = {}): Promise<any> {
  const base = process.env.TAILOR_URL ?? 'http://127.0.0.1:8787';
  const token = process.env.ADMIN_TOKEN;
  if (!token) throw new CliError('set ADMIN_TOKEN (printed by `npm start` when it generates one)');
  let res: Response;
  try {
    res = await fetch(base + path, {
      method: init.method ?? 'GET',
      headers: {
        authorization: `Bearer ${token}`,
        ...(init.body ? { 'content-type': 'application/json' } : {}),
      },
      ...(init.body ? { body: JSON.stringify(init.body) } : {}),
    });
  } catch {
    throw new CliError(`no Tailor platform answers at ${base} (start it with npm start, or set TAILOR_URL)`);
  }
  const json = await res.json().catch(() => ({}));
  if (!res.ok) throw new CliError(`${res.status}: ${json?.error?.message ?? res.statusText}`);
  return json;
}

async function all(path: string): Promise<any[]> {
  const items: any[] = [];
  let cursor: string | null = null;
  do {
    const sep = path.includes('?') ? '&' : '?';
    const page = await admin(
      `${path}${sep}limit=200${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`,
    );
    items.push(...page.items);
    cursor = page.next_cursor;
  } while (cursor);
  return items;
}

function table(rows: Record<string, unknown>[], columns: string[]): string {
  if (rows.length === 0) return '(none)';
  const cell = (v: unknown) =>
    v === null || v === undefined ? '-' : typeof v === 'object' ? JSON.stringify(v) : String(v);
  const widths = columns.map((c) => Math.max(c.length, ...rows.map((r) => cell(r[c]).length)));
  const line = (vals: string[]) =>
    vals
      .map((v, i) => v.padEnd(widths[i] as number))
      .join('  ')
      .trimEnd();
  return [
    line(columns),
    line(widths.map((w) => '-'.repeat(w))),
    ...rows.map((r) => line(columns.map((c) => cell(r[c])))),
  ].join('\n');
}

export async function run(argv: string[]): Promise<string> {
  const { positionals, values } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: { ttl: { type: 'string' } },
  });
  const [cmd, sub, a] = positionals;
  if (cmd === 'apps' && sub === 'create' && a) {
    const app = await admin('/admin/apps', { method: 'POST', body: { name: a } });
    return `app_id          ${app.app_id}\napi_key         ${app.api_key}\nsigning_secret  ${app.signing_secret}\n(keep them: they are not shown again)`;
  }
  if (cmd === 'apps' && sub === 'list') return table(await all('/admin/apps'), ['id', 'name', 'created_at']);
  if (cmd === 'users' && sub) {
    return table(await all(`/admin/apps/${encodeURIComponent(sub)}/users`), [
      'user',
      'created_at',
      'last_seen',
    ]);
  }
  if (cmd === 'adapters' && sub) {
    const q = a ? `?user=${encodeURIComponent(a)}` : '';
    const rows = (await all(`/admin/apps/${encodeURIComponent(sub)}/adapters${q}`)).map((r) => ({
      ...r,
      owner: r.user ?? `style:${r.style}`,
      heldout: r.metrics?.heldout_loss_after ?? r.metrics?.heldout_loss ?? null,
    }));
    return table(rows, ['owner', 'version', 'status', 'heldout', 'created_at', 'promoted_at']);
  }
  if (cmd === 'token' && sub && a) {
    const ttl = Number(values.ttl ?? 3600);
    if (!Number.isSafeInteger(ttl) || ttl <= 0)
      throw new CliError('--ttl must be a positive number of seconds');
    return signUserToken({ sub: a, exp: Math.floor(Date.now() / 1000) + ttl }, sub);
  }
  return HELP;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  run(process.argv.slice(2)).then(
    (out) => console.log(out),
    (e) => {
      console.error(e instanceof CliError ? `tailor: ${e.message}` : e);
      process.exit(1);
    },
  );
}
