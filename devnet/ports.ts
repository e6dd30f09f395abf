import { createServer } from 'node:net';
import { ConfigError } from '../core/errors.js';

/** A port the OS says is free on 127.0.0.1 right now (bind to 0, read it, close). */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

export async function freePorts(n: number): Promise<number[]> {
  const out = new Set<number>();
  while (out.size < n) out.add(await freePort());
  return [...out];
}

/** Throws a clear error when `port` is taken on 127.0.0.1. */
export async function assertPortFree(port: number, what: string): Promise<void> {
  await new Promise<void>((resolve, reject) => {
    const srv = createServer();
    srv.once('error', (e: NodeJS.ErrnoException) =>
      reject(
        new ConfigError(
          'PORT_IN_USE',
          e.code === 'EADDRINUSE'
            ? `port ${port} (${what}) is already in use on 127.0.0.1; stop what uses it or pick another --base-port`
            : `cannot bind port ${port} (${what}): ${e.message}`,
        ),
      ),
    );
    srv.listen(port, '127.0.0.1', () => srv.close(() => resolve()));
  });
}
