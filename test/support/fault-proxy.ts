// A TCP proxy on loopback that puts a fault between a client and a real server (PostgreSQL, S3):
//   pass    forward both ways (the default)
//   refuse  drop every connection, open or new, at once: what a client sees of a stopped server
//   hang    accept connections and never answer: a server that stopped responding (timeouts must fire)
// Switching mode ends the connections open until then, so pooled clients meet the new mode too.
import { createConnection, createServer, type Server, type Socket } from 'node:net';

export type FaultMode = 'pass' | 'refuse' | 'hang';

export interface FaultProxy {
  port: number;
  /** `http://127.0.0.1:port` */
  url: string;
  mode: FaultMode;
  set(mode: FaultMode): void;
  close(): Promise<void>;
}

export async function startFaultProxy(target: { host: string; port: number }): Promise<FaultProxy> {
  const open = new Set<Socket>();
  let mode: FaultMode = 'pass';
  const track = (s: Socket) => {
    open.add(s);
    s.once('close', () => open.delete(s));
    s.on('error', () => {});
  };
  const server: Server = createServer((client) => {
    track(client);
    if (mode === 'refuse') return client.destroy();
    if (mode === 'hang') return client.pause(); // read nothing, answer nothing
    const upstream = createConnection(target);
    track(upstream);
    client.pipe(upstream);
    upstream.pipe(client);
    client.once('close', () => upstream.destroy());
    upstream.once('close', () => client.destroy());
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as { port: number }).port;
  return {
    port,
    url: `http://127.0.0.1:${port}`,
    get mode() {
      return mode;
    },
    set(next) {
      mode = next;
      for (const s of open) s.destroy();
    },
    close() {
      for (const s of open) s.destroy();
      return new Promise((r) => server.close(() => r()));
    },
  };
}
