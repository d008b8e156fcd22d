// `npm run tailor -- <command>`: the operator's command line. It talks to a running platform's admin API
// (TAILOR_URL, default http://127.0.0.1:8787, and ADMIN_TOKEN), so it works the same against the embedded
// platform (whose PGlite only one process may open) and a production deployment.
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { isCheckpointFile } from '../../core/model/checkpoint-store.js';
import { signUserToken } from '../../functions/auth/jwt.js';
import { followJobs, type JobView } from './job-progress.js';

const HELP = `tailor — operate a Tailor platform

  tailor apps create <name>           create an app; prints its API key and signing secret (shown once)
  tailor apps list                    list apps
  tailor users <app>                  list an app's users
  tailor adapters <app> [user]        list adapter versions (of one user)
  tailor token <signing-secret> <user> --kid <sks_… | app id> [--ttl seconds]
                                      mint a user token (JWT HS256) for trying the API as a user; kid
                                      names the secret (its id) or the app: the server needs one
  tailor train [--app <app>] [--user <user> ...] [--wait]
                                      run a training cycle now (named users: trained if they have usable
                                      feedback); --wait shows progress on stderr and prints the outcome
  tailor styles train <app> <style> (--genre <genre> | --text <text> ... | --texts-file <file>) [--wait]
                                      train a style adapter (Brown genre: mystery, romance, science_fiction,
                                      adventure, humor...; a texts file holds texts separated by blank lines)
  tailor styles import <app> <style> <peft-dir>
                                      import a PEFT LoRA adapter directory as the style's active version
  tailor settings <app> [--set <section.field>=<value> ...] [--reset <section.field> ...]
                                      show an app's settings (* = set by the app), or change them, e.g.
                                      --set training.min_feedback=4 --set cors.allowed_origins=https://a,https://b
  tailor models list                  list base models (the default marked) and recent imports
  tailor models import <dir> --name <id> [--quantize none|int8] [--wait]
                                      import a Hugging Face checkpoint directory (what save_pretrained
                                      writes: Llama, Mistral, Qwen2; safetensors) as base model <id>: its
                                      files are uploaded, checked and converted by the worker; --wait
                                      shows progress and prints what the import measured
  tailor jobs [--status <status>]     list training jobs
  tailor worker                       run a training worker in this process (DATABASE_URL, S3_*, as the
                                      API; TAILOR_SCHEDULE=0 leaves interval cycles to other workers)

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

/** Follows the jobs until they have finished, a progress bar each on stderr. */
function waitForJobs(ids: string[]): Promise<JobView[]> {
  return followJobs((id) => admin(`/admin/jobs/${encodeURIComponent(id)}`), ids, process.stderr);
}

/** Each version a job published (or why it failed), as a table. */
function outcomes(jobs: any[]): string {
  const rows: Record<string, unknown>[] = [];
  for (const j of jobs) {
    if (j.status === 'failed') {
      rows.push({ job: j.id, owner: '-', status: 'job failed', version: j.error });
      continue;
    }
    const result = j.result ?? {};
    const list = Array.isArray(result.users) ? result.users : result.version ? [result] : [];
    for (const u of list) {
      rows.push({
        job: j.id,
        owner: u.user ?? `style:${u.style}`,
        version: u.version,
        status: u.status,
        heldout: u.heldout_loss_after?.toFixed(4),
        baseline: `${u.baseline} ${u.baseline_heldout_loss?.toFixed(4)}`,
      });
    }
    for (const s of result.skipped ?? []) {
      rows.push({ job: j.id, owner: s.user, status: 'skipped', version: s.reason });
    }
  }
  return table(rows, ['job', 'owner', 'version', 'status', 'heldout', 'baseline']);
}

/** `--set training.min_feedback=4` and `--reset cors.allowed_origins` as a merge patch of the settings. */
export function settingsPatch(sets: string[], resets: string[]): Record<string, Record<string, unknown>> {
  const patch: Record<string, Record<string, unknown>> = {};
  const at = (key: string) => {
    const [section, field, ...rest] = key.split('.');
    if (!section || !field || rest.length) throw new CliError(`name a setting as section.field, got ${key}`);
    patch[section] ??= {};
    return { section, field };
  };
  for (const s of sets) {
    const eq = s.indexOf('=');
    if (eq < 0) throw new CliError(`--set wants section.field=value, got ${s}`);
    const { section, field } = at(s.slice(0, eq));
    const raw = s.slice(eq + 1);
    (patch[section] as Record<string, unknown>)[field] =
      field === 'allowed_origins' ? raw.split(',').filter(Boolean) : /^\d+$/.test(raw) ? Number(raw) : raw;
  }
  for (const r of resets) {
    const { section, field } = at(r);
    (patch[section] as Record<string, unknown>)[field] = null;
  }
  return patch;
}

function settingsTable(
  settings: Record<string, Record<string, unknown>>,
  overrides: Record<string, object>,
): string {
  const rows = Object.entries(settings).flatMap(([section, fields]) =>
    Object.entries(fields).map(([field, value]) => ({
      setting: `${section}.${field}`,
      value: Array.isArray(value) ? value.join(', ') || '(none)' : value,
      set: field in ((overrides[section] as object | undefined) ?? {}) ? '*' : '',
    })),
  );
  return table(rows, ['setting', 'value', 'set']);
}

/** Uploads a checkpoint directory's files, asks for its import, and (with `wait`) follows the job. */
async function importModel(dir: string, name: string, wait: boolean, quantize: string): Promise<string> {
  const entries = await readdir(dir, { withFileTypes: true }).catch((e) => {
    throw new CliError(`cannot read ${dir}: ${(e as Error).message}`);
  });
  // What the import reads; the rest of a Hub download (vocab.json, merges.txt, README) stays here.
  const files = entries
    .filter((e) => e.isFile() && isCheckpointFile(e.name))
    .map((e) => e.name)
    .sort();
  const pickled = entries.find((e) => /\.(bin|pt|pth|ckpt|pkl)$/.test(e.name));
  if (!files.includes('config.json'))
    throw new CliError(`${dir} holds no config.json: is it a checkpoint directory (save_pretrained)?`);
  if (pickled && !files.some((f) => f.endsWith('.safetensors')))
    throw new CliError(
      `${pickled.name} is pickled weights, which are never unpickled: save with safe_serialization=True`,
    );
  const upload = `${name.slice(0, 50)}-${Date.now().toString(36)}`;
  const base = process.env.TAILOR_URL ?? 'http://127.0.0.1:8787';
  for (const [i, file] of files.entries()) {
    const bytes = await readFile(join(dir, file));
    process.stderr.write(`upload ${i + 1}/${files.length} ${file} (${(bytes.length / 1e6).toFixed(1)} MB)\n`);
    const res = await fetch(`${base}/admin/model-uploads/${upload}/${encodeURIComponent(file)}`, {
      method: 'PUT',
      headers: { authorization: `Bearer ${process.env.ADMIN_TOKEN ?? ''}` },
      body: bytes,
    }).catch(() => {
      throw new CliError(
        `no Tailor platform answers at ${base} (start it with npm start, or set TAILOR_URL)`,
      );
    });
    if (!res.ok) {
      const body = (await res.json().catch(() => ({}))) as { error?: { message?: string } };
      throw new CliError(`${res.status}: ${body.error?.message ?? res.statusText}`);
    }
  }
  const { job, checkpoint } = await admin('/admin/models', {
    method: 'POST',
    body: { name, upload, ...(quantize !== 'none' ? { quantize } : {}) },
  });
  const what = `${checkpoint.architecture}, ${(checkpoint.params / 1e6).toFixed(1)} M parameters, ${checkpoint.dtype}, ${checkpoint.tokenizer} tokenizer`;
  if (!wait) return `importing ${name} (${what}): job ${job.id}; \`tailor models list\` shows it when ready`;
  process.stderr.write(`importing ${name}: ${what}\n`);
  const [done] = (await waitForJobs([job.id])) as any[];
  if (done.status === 'failed') throw new CliError(`import of ${name} failed: ${done.error}`);
  const report = done.result?.report ?? {};
  const bpb = report.bits_per_byte?.all?.bpb;
  return [
    `${name} is ready: use "model": "${name}" on /v1/generate, /v1/score and the OpenAI routes`,
    `  parity     max |Δlogits| ${report.parity?.graph_max_abs_diff?.toExponential(2)} against transformers (limit ${report.parity?.limit})`,
    ...(bpb !== undefined ? [`  held-out   ${bpb.toFixed(3)} bits per byte (Brown sample)`] : []),
    ...(report.quantized_parity
      ? [
          `  int8       max |Δlogits| ${report.quantized_parity.graph_max_abs_diff.toExponential(2)}, next token agrees ${(100 * report.quantized_parity.top1_agreement).toFixed(0)} %, relative error ${(100 * report.quantized_parity.relative_error).toFixed(1)} % (${report.quantized_parity.runtime})`,
        ]
      : []),
    `  served     ${report.served_context} positions; graph ${(report.graph_bytes / 1e6).toFixed(1)} MB; import ${report.seconds} s`,
  ].join('\n');
}

const OPTIONS = {
  ttl: { type: 'string' },
  kid: { type: 'string' },
  app: { type: 'string' },
  user: { type: 'string', multiple: true },
  wait: { type: 'boolean' },
  genre: { type: 'string' },
  text: { type: 'string', multiple: true },
  'texts-file': { type: 'string' },
  status: { type: 'string' },
  name: { type: 'string' },
  quantize: { type: 'string' },
  set: { type: 'string', multiple: true },
  reset: { type: 'string', multiple: true },
} as const;

/**
 * parseArgs over `argv`, where an argument that starts with a single '-' is a value (a signing secret is base64url
 * and may start with '-'; the CLI has no short options), not an unknown option. An unknown `--option` is still
 * refused.
 */
function parseCli(argv: string[]) {
  const held = new Map<string, string>();
  const args = argv.map((x, i) => {
    if (!x.startsWith('-') || x.startsWith('--')) return x;
    const stand = `\u0000${i}`;
    held.set(stand, x);
    return stand;
  });
  const { positionals, values } = parseArgs({ args, allowPositionals: true, options: OPTIONS });
  const back = (v: string) => held.get(v) ?? v;
  const restored = Object.fromEntries(
    Object.entries(values).map(([k, v]) => [
      k,
      typeof v === 'string' ? back(v) : Array.isArray(v) ? v.map((x) => back(x as string)) : v,
    ]),
  ) as typeof values;
  return { positionals: positionals.map(back), values: restored };
}

export async function run(argv: string[]): Promise<string> {
  const { positionals, values } = parseCli(argv);
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
    if (!values.kid)
      throw new CliError(
        "--kid <sks_… or app id>: the signing secret's id or the app id (the server refuses a token naming neither)",
      );
    return signUserToken({ sub: a, exp: Math.floor(Date.now() / 1000) + ttl }, sub, values.kid);
  }
  if (cmd === 'train') {
    const body = {
      ...(values.app ? { app: values.app } : {}),
      ...(values.user ? { users: values.user } : {}),
      wait: false,
    };
    const { jobs } = await admin('/admin/training/run', { method: 'POST', body });
    const ids: string[] = jobs.map((j: any) => j.id);
    if (ids.length === 0) return 'nobody is due for training (no job enqueued)';
    if (!values.wait) return `enqueued ${ids.join(', ')}`;
    return outcomes(await waitForJobs(ids));
  }
  if (cmd === 'styles' && sub === 'train' && a && positionals[3]) {
    const style = positionals[3];
    let texts = values.text;
    if (values['texts-file']) {
      const raw = await readFile(values['texts-file'], 'utf8');
      texts = [
        ...(texts ?? []),
        ...raw
          .split(/\n\s*\n/)
          .map((t) => t.trim())
          .filter(Boolean),
      ];
    }
    if ((values.genre === undefined) === (texts === undefined))
      throw new CliError('give --genre, or texts with --text / --texts-file');
    const { job } = await admin(`/admin/apps/${encodeURIComponent(a)}/styles`, {
      method: 'POST',
      body: { style, ...(values.genre ? { genre: values.genre } : { texts }) },
    });
    if (!values.wait) return `enqueued ${job.id}`;
    return outcomes(await waitForJobs([job.id]));
  }
  if (cmd === 'styles' && sub === 'import' && a && positionals[3] && positionals[4]) {
    const dir = positionals[4];
    const [config, weights] = await Promise.all([
      readFile(join(dir, 'adapter_config.json')),
      readFile(join(dir, 'adapter_model.safetensors')),
    ]).catch((e) => {
      throw new CliError(`cannot read the PEFT adapter in ${dir}: ${(e as Error).message}`);
    });
    const r = await admin(`/admin/apps/${encodeURIComponent(a)}/styles/import`, {
      method: 'POST',
      body: {
        style: positionals[3],
        adapter_config: config.toString('base64'),
        adapter_model: weights.toString('base64'),
      },
    });
    return `style ${r.adapter.style}: ${r.adapter.version} is active${r.retired ? ` (was ${r.retired.version})` : ''}`;
  }
  if (cmd === 'settings' && sub) {
    const path = `/admin/apps/${encodeURIComponent(sub)}/settings`;
    const patch = settingsPatch(values.set ?? [], values.reset ?? []);
    const r =
      Object.keys(patch).length > 0 ? await admin(path, { method: 'PATCH', body: patch }) : await admin(path);
    return settingsTable(r.settings, r.overrides);
  }
  if (cmd === 'models' && sub === 'list') {
    const r = await admin('/admin/models');
    const rows = r.models.map((m: any) => ({
      ...m,
      default: m.id === r.default ? '*' : '',
      bpb: m.imported?.bits_per_byte?.all?.bpb?.toFixed(3),
    }));
    return table(rows, ['id', 'default', 'family', 'context', 'bpb', 'created_at']);
  }
  if (cmd === 'models' && sub === 'import' && a) {
    if (!values.name) throw new CliError('name the base model: --name <id>');
    if (values.quantize && !['none', 'int8'].includes(values.quantize))
      throw new CliError(`--quantize is none or int8, not ${values.quantize}`);
    return importModel(a, values.name, values.wait === true, values.quantize ?? 'none');
  }
  if (cmd === 'jobs') {
    const q = values.status ? `?status=${encodeURIComponent(values.status)}` : '';
    const rows = (await all(`/admin/jobs${q}`)).map((j) => ({
      ...j,
      progress: j.progress?.stage ? `${j.progress.stage} ${j.progress.done}/${j.progress.total}` : '',
    }));
    return table(rows, ['id', 'kind', 'status', 'attempts', 'progress', 'error', 'created_at']);
  }
  if (cmd === 'worker') {
    const { runStandaloneWorker } = await import('./worker.js');
    await runStandaloneWorker(process.env);
    return 'worker running (Ctrl-C stops it; a running job goes back to the queue)';
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
