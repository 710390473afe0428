import { readdirSync, readFileSync } from 'node:fs';
import { createServer, type Socket } from 'node:net';
import { after } from 'node:test';

/**
 * A TCP server on 127.0.0.1 that accepts every connection and never answers: `git clone
 * http://127.0.0.1:PORT/x.git` (and fetch) hang on it until killed. Closed after the test file.
 */
export async function hangingServer(): Promise<{ port: number; url: string; connections: () => number }> {
  const sockets = new Set<Socket>();
  let accepted = 0;
  const server = createServer((s) => {
    accepted++;
    sockets.add(s);
    s.on('error', () => undefined);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('no TCP address');
  after(async () => {
    for (const s of sockets) s.destroy();
    await new Promise((r) => server.close(r));
  });
  const port = address.port;
  return { port, url: `http://127.0.0.1:${port}/x.git`, connections: () => accepted };
}

/** Pids of live processes whose command line contains `needle` (Linux /proc; this process excluded). */
export function processesWith(needle: string): number[] {
  const found: number[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name) || Number(name) === process.pid) continue;
    try {
      const cmdline = readFileSync(`/proc/${name}/cmdline`, 'utf8').replaceAll('\0', ' ');
      // A zombie has an empty command line: it is gone, only not yet reaped.
      if (cmdline.includes(needle)) found.push(Number(name));
    } catch {
      /* exited meanwhile */
    }
  }
  return found;
}
