import { randomBytes, randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import { WebSocketServer } from 'ws';
import type { RunnerMessage } from '../../main/runner/protocol/messages.ts';
import { RegisterRequest, type RunnerResponse, type TokenResponse } from '../../main/runner/api/schemas.ts';
import { issueTokenPair, mintAccessToken, type MintOptions } from './fakeCore/jwt.ts';
import { handleRequest, internalError } from './fakeCore/rest.ts';
import { handleUpgrade, heartbeatTick } from './fakeCore/runnerSocket.ts';
import {
  createRunner,
  type Conn,
  type CoreState,
  type DeviceRecord,
  type FakeCoreOptions,
  type Handshake,
  type HttpRecord,
  type InboundFrame,
  type InvalidFrame,
} from './fakeCore/state.ts';

/**
 * A fake Sibyl Core for tests and benchmarks: a real HTTP server and runner WebSocket on
 * 127.0.0.1 that behave as sibyl-protocol.md §2–§4 describes, including the errors, plus controls
 * to misbehave on purpose. Every test imports this file; the protocol lives beside it in
 * `fakeCore/`: `jwt.ts` (tokens and sessions), `rest.ts` (HTTP routes), `runnerSocket.ts` (the
 * runner WebSocket), over the shared records in `state.ts`.
 */

export { FAKE_JWT_SECRET, signJwt, type MintOptions } from './fakeCore/jwt.ts';
export type { FakeCoreOptions, Handshake, HttpRecord, InboundFrame, InvalidFrame } from './fakeCore/state.ts';

export interface AddRunnerOptions {
  name?: string;
  hostname?: string;
  capabilities?: string[];
  max_concurrent_agents?: number;
  userId?: string;
  orgId?: string;
  /** Put a `rid` claim for this runner in the returned access token. */
  bindToken?: boolean;
}

export class FakeCore {
  readonly options: FakeCoreOptions;
  readonly userId = randomUUID();
  readonly orgId = randomUUID();
  readonly requests: HttpRecord[] = [];
  readonly frames: InboundFrame[] = [];
  readonly invalidFrames: InvalidFrame[] = [];
  readonly deliveryChecks: InboundFrame[] = [];
  readonly handshakes: Handshake[] = [];
  port = 0;

  private server: Server | undefined;
  private heartbeatTimer: NodeJS.Timeout | undefined;
  private readonly state: CoreState;

  constructor(options: FakeCoreOptions = {}) {
    this.options = { ...options };
    this.port = options.port ?? 0;
    this.state = {
      options: this.options,
      userId: this.userId,
      orgId: this.orgId,
      url: () => this.url,
      requests: this.requests,
      frames: this.frames,
      invalidFrames: this.invalidFrames,
      deliveryChecks: this.deliveryChecks,
      handshakes: this.handshakes,
      // uvicorn's default frame limit: a bigger frame is closed with 1009 (§4.2).
      wss: new WebSocketServer({ noServer: true, maxPayload: options.maxPayloadBytes ?? 16 * 1024 * 1024 }),
      runners: new Map(),
      conns: new Map(),
      devices: new Map(),
      sessions: new Map(),
      apiKeys: new Map(),
      failures: [],
      waiters: new Set(),
    };
  }

  static async start(options: FakeCoreOptions = {}): Promise<FakeCore> {
    const core = new FakeCore(options);
    await core.listen();
    return core;
  }

  /** Site root to use as `server_url`. */
  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  // ---- lifecycle ----

  async listen(): Promise<void> {
    const server = createServer((req, res) => {
      // Node writes Date itself unless one is set (uvicorn sends one too).
      const offset = this.options.dateOffsetMs;
      if (offset) res.setHeader('date', new Date(Date.now() + offset).toUTCString());
      handleRequest(this.state, req, res).catch(() => internalError(res));
    });
    server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => handleUpgrade(this.state, req, socket, head));
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.port, '127.0.0.1', () => resolve());
    });
    this.server = server;
    this.port = (server.address() as AddressInfo).port;
    const every = this.options.heartbeatIntervalMs ?? 30_000;
    if (every > 0) {
      this.heartbeatTimer = setInterval(() => heartbeatTick(this.state), every);
      this.heartbeatTimer.unref();
    }
  }

  /** Drop every connection abruptly and free the port; state (runners, sessions) is kept. */
  async stop(): Promise<void> {
    clearInterval(this.heartbeatTimer);
    this.heartbeatTimer = undefined;
    this.terminateAll();
    const server = this.server;
    this.server = undefined;
    if (!server) return;
    await new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
    });
  }

  /** Listen again on the same port with the same state (a server restart). */
  async restart(): Promise<void> {
    await this.stop();
    await this.listen();
  }

  // ---- credentials ----

  mintAccessToken(opts: MintOptions = {}): string {
    return mintAccessToken(this.state, opts);
  }

  /** A new session (as after a login): an access token and a rotating refresh token. */
  issueTokenPair(opts: { scope?: string; ttlS?: number; sub?: string; org?: string } = {}): TokenResponse {
    return issueTokenPair(this.state, opts);
  }

  /** An `sk_test_` key for REST only (§2.10); default scopes allow every runner route. */
  issueApiKey(scopes: string[] = ['api:write']): string {
    const key = `sk_test_${randomBytes(32).toString('base64url')}`;
    this.state.apiKeys.set(key, { scopes });
    return key;
  }

  /** Every refresh token issued so far dies (as after logout everywhere). */
  revokeSessions(): void {
    this.state.sessions.clear();
  }

  // ---- device flow controls (§2.4.2) ----

  approveDevice(userCode: string): void {
    this.device(userCode).state = 'approved';
  }
  denyDevice(userCode: string): void {
    this.device(userCode).state = 'denied';
  }
  expireDevice(userCode: string): void {
    this.device(userCode).expiresAt = Date.now() - 1;
  }

  // ---- runners ----

  addRunner(opts: AddRunnerOptions = {}): { id: string; accessToken: string; runner: RunnerResponse } {
    const userId = opts.userId ?? this.userId;
    const orgId = opts.orgId ?? this.orgId;
    const runner = createRunner(
      this.state,
      RegisterRequest.parse({
        name: opts.name ?? 'test-runner',
        hostname: opts.hostname ?? 'test-host',
        capabilities: opts.capabilities,
        max_concurrent_agents: opts.max_concurrent_agents,
      }),
      userId,
      orgId,
    );
    const accessToken = this.mintAccessToken({ sub: userId, org: orgId, ...(opts.bindToken ? { rid: runner.id } : {}) });
    return { id: runner.id, accessToken, runner };
  }

  runner(id: string): RunnerResponse | undefined {
    return this.state.runners.get(id)?.data;
  }

  /** The runners the server lists, in the order they registered. */
  runners(): RunnerResponse[] {
    return [...this.state.runners.values()].map((r) => r.data);
  }

  removeRunner(id: string): void {
    this.state.runners.delete(id);
  }

  /** The next `count` requests to `method path` get this answer instead; a string body goes out as text/html. */
  failNext(method: string, path: string, status: number, body: unknown, count = 1): void {
    this.state.failures.push({ method, path, status, body, remaining: count });
  }

  // ---- WebSocket controls ----

  get connectionCount(): number {
    return [...this.state.wss.clients].filter((ws) => ws.readyState === ws.OPEN).length;
  }

  connected(runnerId: string): boolean {
    const conn = this.state.conns.get(runnerId);
    return conn !== undefined && conn.ws.readyState === conn.ws.OPEN;
  }

  send(runnerId: string, message: object): void {
    this.conn(runnerId).ws.send(JSON.stringify(message));
  }

  /** A string goes as a text frame, a Buffer as a binary frame. */
  sendRaw(runnerId: string, data: string | Buffer): void {
    this.conn(runnerId).ws.send(data, { binary: typeof data !== 'string' });
  }

  close(runnerId: string, code = 1000, reason = ''): void {
    this.conn(runnerId).ws.close(code, reason);
  }

  /** A half-open link: no more heartbeats, and the socket is no longer read (no pongs, nothing processed). */
  silence(runnerId: string): void {
    const conn = this.conn(runnerId);
    conn.silenced = true;
    conn.ws.pause();
  }

  terminateAll(): void {
    for (const ws of this.state.wss.clients) ws.terminate();
  }

  // ---- observing ----

  messagesOf<T extends RunnerMessage['type']>(type: T, runnerId?: string): Extract<RunnerMessage, { type: T }>[] {
    const out: Extract<RunnerMessage, { type: T }>[] = [];
    for (const f of this.frames) {
      if (f.message?.type === type && (runnerId === undefined || f.runnerId === runnerId))
        out.push(f.message as Extract<RunnerMessage, { type: T }>);
    }
    return out;
  }

  /** The first recorded frame (already received or yet to come) that matches. */
  waitFor(predicate: (f: InboundFrame) => boolean, timeoutMs = 5000, description = 'a matching frame'): Promise<InboundFrame> {
    const found = this.frames.find(predicate);
    if (found) return Promise.resolve(found);
    const waiters = this.state.waiters;
    return new Promise((resolve, reject) => {
      const waiter = (f: InboundFrame): void => {
        if (!predicate(f)) return;
        waiters.delete(waiter);
        clearTimeout(timer);
        resolve(f);
      };
      const timer = setTimeout(() => {
        waiters.delete(waiter);
        const seen = this.frames
          .slice(-10)
          .map((f) => f.raw.slice(0, 80))
          .join('\n  ');
        reject(new Error(`fakeCore: timed out after ${timeoutMs} ms waiting for ${description}; last frames:\n  ${seen || '(none)'}`));
      }, timeoutMs);
      waiters.add(waiter);
    });
  }

  /** Polls `check` until it holds, for conditions that are not frames (connections, runner state). */
  async until(check: () => boolean, timeoutMs = 5000, description = 'a condition'): Promise<void> {
    const deadline = performance.now() + timeoutMs;
    while (!check()) {
      if (performance.now() > deadline) throw new Error(`fakeCore: timed out after ${timeoutMs} ms waiting for ${description}`);
      await new Promise((r) => setTimeout(r, 10));
    }
  }

  // ---- internals ----

  private conn(runnerId: string): Conn {
    const conn = this.state.conns.get(runnerId);
    if (!conn) throw new Error(`fakeCore: runner ${runnerId} is not connected`);
    return conn;
  }

  private device(userCode: string): DeviceRecord {
    const wanted = userCode.toUpperCase().replace(/[\s-]/g, '');
    const found = [...this.state.devices.values()].find((d) => d.userCode.replace('-', '') === wanted);
    if (!found) throw new Error(`fakeCore: no device login with user code ${userCode}`);
    return found;
  }
}
