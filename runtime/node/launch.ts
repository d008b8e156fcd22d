// Starts Tailor's Node entry as a real process on a free loopback port and waits until it is healthy.
import { type ChildProcess, spawn } from 'node:child_process';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { REPO_ROOT } from '../../core/node/repo.js';

export interface RunningServer {
  url: string;
  port: number;
  /** The server process (its group leader); e.g. to read its memory from /proc. */
  pid: number;
  output: () => string;
  stop(): Promise<void>;
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      srv.close(() => (typeof addr === 'object' && addr ? resolve(addr.port) : reject(new Error('no port'))));
    });
  });
}

export interface LaunchOptions {
  /** The command that starts the platform; default the Node entry itself (`node --import tsx runtime/node/main.ts`). */
  command?: string[];
  /** Its working directory; default the repository. */
  cwd?: string;
  /** Use `env` as the whole environment instead of adding it to this process's. */
  exactEnv?: boolean;
  timeoutMs?: number;
}

/**
 * Starts the platform on a free loopback port (PORT is set; HOST too unless `exactEnv`) in a process group of
 * its own, and waits until /healthz answers. `stop()` ends the whole group (`npm start` runs a few processes).
 */
export async function startServer(
  env: Record<string, string>,
  launch: LaunchOptions = {},
): Promise<RunningServer> {
  const port = await freePort();
  const [cmd, ...args] = launch.command ?? [
    process.execPath,
    '--import',
    'tsx',
    join(REPO_ROOT, 'runtime/node/main.ts'),
  ];
  const child: ChildProcess = spawn(cmd as string, args, {
    cwd: launch.cwd ?? REPO_ROOT,
    env: launch.exactEnv
      ? { ...env, PORT: String(port) }
      : { ...process.env, ...env, PORT: String(port), HOST: '127.0.0.1' },
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  });
  let out = '';
  child.stdout?.on('data', (d) => (out += d));
  child.stderr?.on('data', (d) => (out += d));
  const group = (signal: NodeJS.Signals) => {
    try {
      process.kill(-(child.pid as number), signal);
    } catch {}
  };
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + (launch.timeoutMs ?? 90_000);
  for (;;) {
    if (child.exitCode !== null) throw new Error(`server exited with ${child.exitCode}:\n${out}`);
    try {
      if ((await fetch(`${url}/healthz`)).ok) break;
    } catch {}
    if (Date.now() > deadline) {
      group('SIGKILL');
      throw new Error(`server not healthy after ${launch.timeoutMs ?? 90_000} ms:\n${out}`);
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  return {
    url,
    port,
    pid: child.pid as number,
    output: () => out,
    stop: async () => {
      if (child.exitCode !== null) return group('SIGKILL');
      const exited = new Promise((r) => child.once('exit', r));
      group('SIGTERM');
      await Promise.race([exited, new Promise((r) => setTimeout(r, 10_000))]);
      group('SIGKILL');
    },
  };
}
