import { createHash } from 'node:crypto';
import { chmodSync, rmSync } from 'node:fs';
import { connect, createServer, type Server, type Socket } from 'node:net';
import { basename, dirname, join } from 'node:path';
import { isMainThread } from 'node:worker_threads';
import { canonicalPath } from '../config/canonicalPath.ts';
import { RunnerError } from '../errors.ts';
import type { Logger } from '../logger.ts';
import { ControlRequest, ControlResponse, type ControlCommand } from './contract.ts';
import type { EventFeed } from './eventFeed.ts';

/**
 * Unix socket beside the config, named after it (`runner.yaml` → `runner.sock`, `a.yaml` →
 * `a.sock`, so two configurations in one folder each have their own); a named pipe on Windows
 * (derived from the config path). The path is resolved first: one file reached by two paths
 * (a symlink) is one runner.
 */
export function controlSocketPath(configPath: string): string {
  const config = canonicalPath(configPath);
  if (process.platform === 'win32') return `\\\\.\\pipe\\sibyl-runner-${createHash('sha256').update(config).digest('hex').slice(0, 16)}`;
  const name = basename(config).replace(/\.(ya?ml|json|toml)$/i, '');
  return join(dirname(config), `${name || 'runner'}.sock`);
}

/** Answers one control request; may return a value or a promise of one. */
export type ControlHandler = (req: ControlCommand) => unknown;

/**
 * Bounds that keep the daemon's memory and event loop safe from a client that misbehaves (a
 * script's loop that leaks connections, a tool that never reads): a request is one short JSON
 * line (the longest is well under 200 bytes), so a longer line is not a request; answers a client
 * leaves unread stop at a bound instead of piling up in this process; and the connections at once
 * are capped (the app holds two or three, each `status` one).
 */
export const CONTROL_LIMITS = {
  /** characters of one request line, newline excluded; past it the connection is closed */
  lineChars: 64 * 1024,
  /** unread answer bytes past which a connection that is not subscribed is closed (a subscription has the feed's own bound) */
  unreadReplyBytes: 1024 * 1024,
  /** connections at once; more are closed as they arrive */
  connections: 64,
};

/** Serves the daemon's live state to `sibyl-runner status` and the desktop app. Local only. */
export class ControlServer {
  readonly #server: Server;
  readonly #path: string;

  private constructor(server: Server, path: string) {
    this.#server = server;
    this.#path = path;
  }

  /** `feed` serves `subscribe`; without one that request is refused (`unsupported`). */
  static async listen(path: string, handle: ControlHandler, log: Logger, feed?: EventFeed): Promise<ControlServer> {
    if (process.platform !== 'win32') {
      // A stale socket from a killed daemon: remove it unless someone is listening on it.
      if (await ping(path))
        throw new RunnerError(
          'already_running',
          `another sibyl-runner is already running for this configuration (control socket ${path})`,
          {
            context: { path },
          },
        );
      rmSync(path, { force: true });
    }
    const server = createServer((sock) => serve(sock, handle, log, feed));
    server.maxConnections = CONTROL_LIMITS.connections;
    // Said once a minute at most: a loop that keeps connecting would otherwise fill runner.log.
    let warnedAt = 0;
    server.on('drop', () => {
      if (Date.now() - warnedAt < 60_000) return;
      warnedAt = Date.now();
      log.warn('control connections refused: too many at once', { limit: CONTROL_LIMITS.connections });
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      listenPrivately(server, path, () => resolve());
    });
    // Local control only: the owner may connect, nobody else (the socket can pause or cancel work).
    // Already so since bind (listenPrivately); this states the final mode on systems without umask.
    if (process.platform !== 'win32') chmodSync(path, 0o600);
    return new ControlServer(server, path);
  }

  async close(): Promise<void> {
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
    if (process.platform !== 'win32') rmSync(this.#path, { force: true });
  }
}

/**
 * `server.listen(path)` with the socket file created 0700 (owner only) at bind, not made so
 * afterwards: with a chmod after listen, another local user could connect in between and keep that
 * connection (a socket's mode is checked at connect only). Node binds a Unix socket synchronously
 * inside `listen()`, so a umask of 077 set just around that call covers the bind and nothing
 * else of ours; for that instant it only tightens what other threads create. Chosen over listening
 * in a private folder and renaming: the socket keeps its one path, and no folder is left behind
 * after a crash. `process.umask` is not allowed in worker threads: there (no face runs the daemon
 * in one) the chmod after listen is the only guard.
 */
function listenPrivately(server: Server, path: string, onListening: () => void): void {
  if (process.platform === 'win32' || !isMainThread) {
    server.listen(path, onListening);
    return;
  }
  const before = process.umask(0o077);
  try {
    server.listen(path, onListening);
  } finally {
    process.umask(before);
  }
}

function serve(sock: Socket, handle: ControlHandler, log: Logger, feed: EventFeed | undefined): void {
  let buf = '';
  let unsubscribe: (() => void) | undefined;
  sock.on('close', () => unsubscribe?.());
  sock.setEncoding('utf8');
  sock.on('error', () => sock.destroy());
  sock.on('data', (chunk: string) => {
    // Only the new chunk is searched: a long line arriving in pieces is not rescanned (and
    // flattened) at each one.
    let nl = chunk.indexOf('\n');
    if (nl === -1) {
      buf += chunk;
      if (buf.length > CONTROL_LIMITS.lineChars) sock.destroy();
      return;
    }
    let rest = chunk;
    while (nl !== -1 && !sock.destroyed) {
      const line = buf + rest.slice(0, nl);
      buf = '';
      rest = rest.slice(nl + 1);
      if (line.length > CONTROL_LIMITS.lineChars) return sock.destroy();
      void answer(line);
      nl = rest.indexOf('\n');
    }
    buf = rest;
    if (buf.length > CONTROL_LIMITS.lineChars) sock.destroy();
  });
  async function answer(line: string): Promise<void> {
    let json: unknown;
    try {
      json = JSON.parse(line);
    } catch {
      return reply({ id: -1, ok: false, error: { code: 'bad_request', message: 'not valid JSON' } });
    }
    const req = ControlRequest.safeParse(json);
    const id = typeof (json as { id?: unknown })?.id === 'number' ? (json as { id: number }).id : -1;
    if (!req.success)
      return reply({
        id,
        ok: false,
        error: { code: 'bad_request', message: req.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ') },
      });
    if (req.data.method === 'subscribe') return subscribe(id);
    try {
      reply({ id, ok: true, result: await handle(req.data) });
    } catch (err) {
      log.warn('control request failed', { method: req.data.method, error: err });
      reply({ id, ok: false, error: { code: 'failed', message: err instanceof Error ? err.message : String(err) } });
    }
  }
  // The answer (the state now) and the subscription in one tick: no event can come before it or be missed.
  function subscribe(id: number): void {
    if (!feed) return reply({ id, ok: false, error: { code: 'unsupported', message: 'this daemon does not stream events' } });
    if (unsubscribe) return reply({ id, ok: false, error: { code: 'bad_request', message: 'already subscribed on this connection' } });
    reply({ id, ok: true, result: feed.snapshot() });
    unsubscribe = feed.subscribe(sock);
  }
  function reply(res: ControlResponse): void {
    if (sock.destroyed) return;
    // A client that sends requests and never reads the answers would have them all held here.
    if (!unsubscribe && sock.writableLength > CONTROL_LIMITS.unreadReplyBytes) {
      log.warn('control connection closed: it does not read its answers', { unreadBytes: sock.writableLength });
      return void sock.destroy();
    }
    sock.write(JSON.stringify(res) + '\n');
  }
}

/** One request to a running daemon; undefined when none is listening. */
export async function controlRequest(path: string, req: ControlCommand, timeoutMs = 3000): Promise<ControlResponse | undefined> {
  return new Promise((resolve) => {
    const sock = connect(path);
    let buf = '';
    const done = (v: ControlResponse | undefined): void => {
      clearTimeout(t);
      sock.destroy();
      resolve(v);
    };
    const t = setTimeout(() => done(undefined), timeoutMs);
    sock.setEncoding('utf8');
    sock.on('error', () => done(undefined));
    sock.on('connect', () => sock.write(JSON.stringify({ ...req, id: 1 }) + '\n'));
    sock.on('data', (c: string) => {
      buf += c;
      const nl = buf.indexOf('\n');
      if (nl === -1) return;
      try {
        const parsed = ControlResponse.safeParse(JSON.parse(buf.slice(0, nl)));
        done(parsed.success ? parsed.data : undefined);
      } catch {
        done(undefined);
      }
    });
  });
}

async function ping(path: string): Promise<boolean> {
  return (await controlRequest(path, { method: 'snapshot' }, 1000)) !== undefined;
}
