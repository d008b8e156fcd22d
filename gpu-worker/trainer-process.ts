// Runs the Python trainer as a child process: the job goes in on stdin (validated against the contract first),
// progress comes back as JSON lines on stdout, the human log on stderr, the result as the last JSON line.
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, isAbsolute, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  type TrainerJob,
  type TrainerProgress,
  type TrainerResult,
  trainerJob,
  trainerProgress,
  trainerResult,
} from '../core/training/trainer-contract.js';

export const TRAINER_DIR = join(dirname(fileURLToPath(import.meta.url)), 'trainer');

/** Debian's python3 carries python3-torch; a pyenv or venv python3 earlier on PATH usually does not. */
export function defaultPython(): string {
  return existsSync('/usr/bin/python3') ? '/usr/bin/python3' : 'python3';
}

/** The trainer refused the job or crashed: retrying the same job will not help when `permanent`. */
export class TrainerError extends Error {
  override name = 'TrainerError';
  constructor(
    message: string,
    readonly permanent: boolean,
    readonly log: string,
  ) {
    super(message);
  }
}

export interface RunTrainerOptions {
  onProgress?: (p: TrainerProgress) => void;
  onLog?: (line: string) => void;
  signal?: AbortSignal;
  device?: string;
  /**
   * CPU threads for torch and BLAS. Default 1: the trainer's small matrix products gain little from more, and
   * on a machine busy with other work (tests, the API) two threads per process made training ~25× slower.
   */
  threads?: number;
  python?: string;
  /** Seconds the process may run; then it is killed and the attempt fails (retryable). Default: no limit. */
  timeoutS?: number;
}

/** Calls `onLine` with each line of a child's output as it comes (the last one even without a newline). */
export function eachLine(stream: NodeJS.ReadableStream, onLine: (line: string) => void): void {
  let buf = '';
  stream.setEncoding('utf8');
  stream.on('data', (chunk: string) => {
    buf += chunk;
    for (let i = buf.indexOf('\n'); i >= 0; i = buf.indexOf('\n')) {
      onLine(buf.slice(0, i));
      buf = buf.slice(i + 1);
    }
  });
  stream.on('end', () => buf && onLine(buf));
}

export function runTrainer(job: TrainerJob, opts: RunTrainerOptions = {}): Promise<TrainerResult> {
  const checked = trainerJob.parse(job);
  // The trainer runs in its own directory: a relative path would name a different file there.
  const paths = [checked.base_model, ...checked.users.flatMap((u) => [u.out_dir, u.baseline_adapter ?? '/'])];
  const relative = paths.find((p) => !isAbsolute(p));
  if (relative !== undefined)
    throw new Error(`trainer paths must be absolute, got ${JSON.stringify(relative)}`);
  const threads = opts.threads ?? 1;
  const args = [
    '-m',
    'tailor_trainer',
    '--progress-json',
    '--device',
    opts.device ?? 'auto',
    '--threads',
    String(threads),
    'train-lora',
    '--job',
    '-',
  ];
  const child = spawn(opts.python ?? defaultPython(), args, {
    cwd: TRAINER_DIR,
    stdio: ['pipe', 'pipe', 'pipe'],
    signal: opts.signal,
    env: {
      ...process.env,
      PYTHONUNBUFFERED: '1',
      OPENBLAS_NUM_THREADS: String(threads),
      OMP_NUM_THREADS: String(threads),
    },
  });
  let result: TrainerResult | undefined;
  const logLines: string[] = [];
  eachLine(child.stdout, (line) => {
    let msg: unknown;
    try {
      msg = JSON.parse(line);
    } catch {
      return opts.onLog?.(line);
    }
    const progress = trainerProgress.safeParse(msg);
    if (progress.success) return opts.onProgress?.(progress.data);
    const done = trainerResult.safeParse(msg);
    if (done.success) result = done.data;
  });
  eachLine(child.stderr, (line) => {
    logLines.push(line);
    if (logLines.length > 200) logLines.shift();
    opts.onLog?.(line);
  });
  child.stdin.on('error', () => {}); // a trainer that dies before reading its job: reported on close
  child.stdin.end(JSON.stringify(checked));
  let timedOut = false;
  const timer =
    opts.timeoutS !== undefined
      ? setTimeout(() => {
          timedOut = true;
          child.kill('SIGKILL');
        }, opts.timeoutS * 1000)
      : undefined;
  return new Promise((resolve, reject) => {
    child.on('error', (err) => {
      if (err.name === 'AbortError') return; // stopped on purpose: reported on close
      reject(new TrainerError(`trainer did not start: ${err.message}`, false, ''));
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      const log = logLines.join('\n');
      if (timedOut) {
        return reject(
          new TrainerError(
            `trainer ran past its time limit of ${opts.timeoutS} s and was killed`,
            false,
            log,
          ),
        );
      }
      if (code === 0 && result) return resolve(result);
      if (code === 0) {
        return reject(
          new TrainerError(
            'trainer exited without a valid result (a non-finite loss, or a broken line)',
            false,
            log,
          ),
        );
      }
      // JobError (a malformed job) and divergence (non-finite losses) are permanent: the same job fails again.
      // Anything else (OOM, a killed process) may pass on retry.
      const permanent = /JobError|TrainingDiverged/.test(log);
      const last = logLines.filter((l) => l.trim()).at(-1) ?? '';
      const how = code === null ? `was killed by ${signal}` : `exited with code ${code}`;
      reject(new TrainerError(`trainer ${how}: ${last}`, permanent, log));
    });
  });
}
