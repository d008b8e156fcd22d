// The `import-model` job: a Hugging Face checkpoint becomes a base model the platform serves and trains on.
// The checkpoint is read again by the strict reader (the API read it before enqueueing; the files may have
// changed since), copied into the attempt's scratch directory when it comes from storage, converted by the
// trainer's `import-hf` in the import environment (.venv: transformers, onnx, onnxruntime), which checks the
// graph against transformers and measures bits per byte on held-out Brown text, then published like the shipped
// base (models/<name>/ with its marker, a base_models row). Serving processes load it on its first request.
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { copyFile, lstat, mkdir, readFile, realpath, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { isCheckpointFile, storeCheckpointFiles } from '../core/model/checkpoint-store.js';
import { CheckpointError, inspectCheckpoint } from '../core/model/hf-checkpoint.js';
import { publishBaseModel } from '../core/node/base-model.js';
import { dirCheckpointFiles } from '../core/node/checkpoint-files.js';
import { PermanentJobError } from '../core/training/jobs.js';
import type { ImportResult, JobPayload } from '../schema/training.js';
import type { JobContext } from './train.js';
import { eachLine, TRAINER_DIR } from './trainer-process.js';

/** The import environment scripts/setup-venv.sh makes. */
export const IMPORT_PYTHON = join(dirname(fileURLToPath(import.meta.url)), '..', '.venv', 'bin', 'python');

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
export const IMPORT_TEXTS = join(ROOT, 'gpu-worker', 'import-texts.ts');

export async function importModel(ctx: JobContext, p: JobPayload<'import-model'>): Promise<ImportResult> {
  if (!existsSync(IMPORT_PYTHON)) {
    // The first import on this machine makes the import environment (about a minute, once).
    ctx.progress({ stage: 'setting up the import environment', done: 0, total: 5 });
    await run(
      ctx,
      'bash',
      [join(ROOT, 'scripts', 'setup-venv.sh')],
      'the import environment could not be made',
    );
  }
  ctx.progress({ stage: 'reading the checkpoint', done: 0, total: 5 });
  let src: string;
  if ('path' in p.source) {
    // The API resolved the path inside the import roots; it must still be that very directory, and what is
    // imported is a copy of its regular files (a link swapped in since is refused, never followed).
    const dir = p.source.path;
    if ((await realpath(dir).catch(() => null)) !== dir)
      throw new PermanentJobError(
        `${dir} changed since the import was asked for (it is no longer that directory)`,
      );
    const files = await checked(() => dirCheckpointFiles(dir), p.servedContext);
    src = join(ctx.tmpDir, 'checkpoint');
    await mkdir(src, { recursive: true });
    for (const name of files) {
      const at = join(dir, name);
      if (!(await lstat(at)).isFile()) throw new PermanentJobError(`${at} is not a regular file`);
      await copyFile(at, join(src, name));
    }
  } else {
    const prefix = p.source.prefix;
    const files = await checked(() => storeCheckpointFiles(ctx.store, prefix), p.servedContext);
    src = join(ctx.tmpDir, 'checkpoint');
    await mkdir(src, { recursive: true });
    for (const name of files) {
      const bytes = await ctx.store.get(prefix + name);
      if (!bytes) throw new PermanentJobError(`${prefix}${name} went missing during the import`);
      await writeFile(join(src, name), bytes);
    }
  }
  const texts = join(ctx.tmpDir, 'texts');
  await mkdir(texts, { recursive: true });
  await importTexts(ctx, src, texts);
  const sample = join(texts, 'sample.json');
  const packages = join(ctx.tmpDir, 'package');
  const out = join(packages, p.name);
  const report = await runImport(ctx, [
    '--src',
    src,
    '--out',
    out,
    '--name',
    p.name,
    '--context',
    String(p.servedContext),
    '--sample',
    sample,
    '--quantize',
    p.quantize,
  ]);
  await addReplay(texts, out);
  ctx.progress({ stage: 'publishing', done: 5, total: 5 });
  const published = await publishBaseModel(ctx.store, ctx.db, packages, p.name);
  ctx.log(`published ${published.prefix} (weights ${published.hash.slice(0, 12)})`);
  return { model: p.name, prefix: published.prefix, hash: published.hash, report };
}

/**
 * sample.json (bits per byte), replay.bin and its description, made by import-texts.ts in a child process: the
 * corpus read and tokenized there, off this process's event loop.
 */
function importTexts(ctx: JobContext, src: string, out: string): Promise<void> {
  return run(
    ctx,
    process.execPath,
    ['--import', 'tsx', IMPORT_TEXTS, src, out],
    'the held-out sample and replay could not be made',
  );
}

/** Runs a helper process to its end; its output goes to the job's log, its failure names `what`. */
function run(ctx: JobContext, command: string, args: string[], what: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'], signal: ctx.signal });
    let err = '';
    child.stdout.on('data', (d: Buffer) => ctx.log(d.toString().trimEnd()));
    child.stderr.on('data', (d: Buffer) => {
      err += d.toString();
    });
    child.on('error', (e) => e.name !== 'AbortError' && reject(e));
    child.on('close', (code) =>
      ctx.signal.aborted
        ? reject(ctx.signal.reason)
        : code === 0
          ? resolve()
          : reject(new PermanentJobError(`${what}: ${err.trim().split('\n').at(-1)}`)),
    );
  });
}

/** The package's replay.bin and its config.json → tailor.replay, from what importTexts made. */
async function addReplay(texts: string, pkg: string): Promise<void> {
  await writeFile(join(pkg, 'replay.bin'), await readFile(join(texts, 'replay.bin')));
  const config = JSON.parse(await readFile(join(pkg, 'config.json'), 'utf8'));
  config.tailor.replay = JSON.parse(await readFile(join(texts, 'replay.json'), 'utf8'));
  await writeFile(join(pkg, 'config.json'), `${JSON.stringify(config, null, 2)}\n`);
}

/** The checkpoint's files as the strict reader accepts them; a refusal fails the job for good, named. */
async function checked(
  open: () => Promise<Awaited<ReturnType<typeof dirCheckpointFiles>>>,
  servedContext: number,
): Promise<string[]> {
  try {
    const files = await open();
    const summary = await inspectCheckpoint(files, { servedContext });
    return files.names.filter((n) => summary.weightFiles.includes(n) || n.endsWith('.json'));
  } catch (e) {
    if (e instanceof CheckpointError) throw new PermanentJobError(e.message);
    throw e;
  }
}

/** Runs `import-hf`, its progress into the job's, its log into the job's log; the last JSON line is the result. */
function runImport(ctx: JobContext, args: string[]): Promise<Record<string, unknown>> {
  const threads = String(ctx.trainer.threads ?? 2);
  const child = spawn(
    IMPORT_PYTHON,
    [
      '-m',
      'tailor_trainer',
      '--progress-json',
      '--device',
      'cpu',
      '--threads',
      threads,
      'import-hf',
      ...args,
    ],
    {
      cwd: TRAINER_DIR,
      stdio: ['ignore', 'pipe', 'pipe'],
      signal: ctx.signal,
      env: { ...process.env, PYTHONUNBUFFERED: '1', OMP_NUM_THREADS: threads, OPENBLAS_NUM_THREADS: threads },
    },
  );
  let result: Record<string, unknown> | null = null;
  let refusal: string | null = null;
  const tail: string[] = [];
  eachLine(child.stdout, (line) => {
    let msg: { event?: string; [k: string]: unknown };
    try {
      msg = JSON.parse(line);
    } catch {
      return ctx.log(line);
    }
    if (msg.event === 'progress') {
      const stage = String(msg.stage ?? '').replace(/^import: /, '');
      ctx.progress({ stage, done: Number(msg.done ?? 0), total: Number(msg.total ?? 5) });
    } else if (msg.event === 'error') refusal = String(msg.message);
    else if (msg.event === 'result') {
      const { event: _, ...rest } = msg;
      result = rest;
    }
  });
  eachLine(child.stderr, (line) => {
    if (/^Loading weights:|it\/s\]$/.test(line)) return; // transformers' progress bars
    tail.push(line);
    if (tail.length > 40) tail.shift();
    ctx.log(line);
  });
  return new Promise((resolve, reject) => {
    child.on('error', (e) => {
      if (e.name !== 'AbortError') reject(new Error(`the importer did not start: ${e.message}`));
    });
    child.on('close', (code) => {
      if (ctx.signal.aborted) return reject(ctx.signal.reason);
      if (refusal) return reject(new PermanentJobError(refusal));
      if (code === 0 && result) return resolve(result);
      reject(new PermanentJobError(`the importer exited with ${code}: ${tail.slice(-3).join(' | ')}`));
    });
  });
}
