// A TypeScript module run in a child Node process (through tsx) and talked to by request/response messages.
import { type ChildProcess, fork } from 'node:child_process';

export class Child {
  private readonly proc: ChildProcess;
  private waiting: { resolve: (m: unknown) => void; reject: (e: Error) => void } | null = null;

  constructor(modulePath: string) {
    this.proc = fork(modulePath, [], {
      execArgv: ['--import', 'tsx'],
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    this.proc.on('message', (m: unknown) => {
      const w = this.waiting;
      this.waiting = null;
      const err = (m as { error?: string }).error;
      if (err) w?.reject(new Error(`child ${modulePath}: ${err}`));
      else w?.resolve(m);
    });
    this.proc.on('exit', (code) => {
      this.waiting?.reject(new Error(`child ${modulePath} exited (${code})`));
      this.waiting = null;
    });
  }

  /** Sends one message and waits for the child's answer. */
  request<T>(msg: unknown): Promise<T> {
    if (this.waiting) throw new Error('one request at a time');
    return new Promise<T>((resolve, reject) => {
      this.waiting = { resolve: resolve as (m: unknown) => void, reject };
      this.proc.send(msg as object);
    });
  }

  async close(): Promise<void> {
    if (this.proc.exitCode !== null) return;
    const exited = new Promise<void>((r) => this.proc.once('exit', () => r()));
    this.proc.send({ exit: true });
    await Promise.race([exited, new Promise((r) => setTimeout(r, 5000))]);
    if (this.proc.exitCode === null) this.proc.kill();
  }

  get pid(): number | undefined {
    return this.proc.pid;
  }
}
