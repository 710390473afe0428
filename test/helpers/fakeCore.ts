import { createHmac, randomBytes, randomUUID, timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingHttpHeaders, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import { WebSocketServer, type RawData, type WebSocket } from 'ws';
import { z } from 'zod';
import { RunnerMessage } from '../../main/runner/protocol/messages.ts';
import {
  DeviceGrantType,
  DeviceStartRequest,
  DeviceStartResponse,
  DeviceTokenRequest,
  MeResponse,
  PatchRunnerRequest,
  RefreshRequest,
  RegisterRequest,
  RunnerResponse,
  TokenResponse,
  type ValidationIssue,
} from '../../main/runner/api/schemas.ts';

/**
 * A fake Sibyl Core for tests and benchmarks: a real HTTP server and runner WebSocket on
 * 127.0.0.1 that behave as sibyl-protocol.md §2–§4 describes, including the errors, plus controls
 * to misbehave on purpose. One file so every test reads the same fake; sections follow the
 * protocol document.
 */

export const FAKE_JWT_SECRET = 'fake-sibyl-core-test-secret';

export interface FakeCoreOptions {
  /** 0 (default) picks a free port. */
  port?: number;
  accessTokenTtlS?: number;
  refreshTokenTtlS?: number;
  /** Server heartbeat period (§4.4); 0 disables. Read at start/restart. */
  heartbeatIntervalMs?: number;
  /** Reject every WebSocket upgrade with this HTTP status (e.g. 500 = server defect S1). */
  upgradeStatus?: number;
  /** Override the device flow's `interval` (fractions allowed, to keep tests fast) and `expires_in`. */
  deviceIntervalS?: number;
  deviceExpiresInS?: number;
  /** Server defect S4: the replaced connection's cleanup unmaps the new one (no more heartbeats). */
  orphanOnReplace?: boolean;
}

export interface HttpRecord {
  method: string;
  path: string;
  headers: IncomingHttpHeaders;
  body: unknown;
  at: number;
}

export interface InboundFrame {
  runnerId: string;
  at: number;
  raw: string;
  /** The parsed JSON (undefined when the frame was not JSON). */
  json: unknown;
  /** The frame as a schema-valid `RunnerMessage`; undefined when invalid (see `invalidFrames`). */
  message: RunnerMessage | undefined;
}

export interface InvalidFrame {
  runnerId: string;
  at: number;
  raw: string;
  error: string;
}

export interface Handshake {
  runnerId: string;
  at: number;
  headers: IncomingHttpHeaders;
  /** `accepted`, `http 403`, or `close 1008 Authentication required`. */
  outcome: string;
}

export interface MintOptions {
  /** `null` leaves the claim out. */
  sub?: string | null;
  org?: string | null;
  /** Negative ⇒ already expired. */
  ttlS?: number;
  rid?: string;
  scope?: string;
  extra?: Record<string, unknown>;
}

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

interface RunnerRecord {
  data: RunnerResponse;
  orgId: string;
  userId: string;
}

interface Conn {
  ws: WebSocket;
  runnerId: string;
  silenced: boolean;
}

interface DeviceRecord {
  deviceCode: string;
  userCode: string;
  scope: string;
  intervalS: number;
  expiresAt: number;
  state: 'pending' | 'approved' | 'denied' | 'consumed';
  lastPollAt: number | undefined;
}

interface Session {
  sub: string;
  org: string;
  jti: string;
}

type Principal = { sub: string; org: string | undefined };

const UUID = /^[0-9a-f]{8}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{12}$/i;
const USER_CODE_ALPHABET = 'ABCDEFGHJKLMNPQRSTUVWXYZ23456789';
const RUNNER_TYPES = new Set(['heartbeat_ack', 'status', 'agent_update', 'project_register', 'task_ack', 'task_complete', 'task_reject']);
const RUNNER_SCOPES = ['runner', 'runner:connect', 'sandbox:runner', 'mcp'];

const Claims = z.looseObject({
  sub: z.string().optional(),
  org: z.string().optional(),
  typ: z.string().optional(),
  iat: z.number().optional(),
  exp: z.number().optional(),
  jti: z.string().optional(),
  sid: z.string().optional(),
  rid: z.string().optional(),
  scope: z.unknown().optional(),
  scp: z.unknown().optional(),
});
type Claims = z.infer<typeof Claims>;

// ---- JWTs (§2.1–2.2) ---------------------------------------------------------------------------

const b64 = (value: string | Buffer): string => Buffer.from(value).toString('base64url');

export function signJwt(claims: Record<string, unknown>, secret: string = FAKE_JWT_SECRET): string {
  const head = `${b64(JSON.stringify({ alg: 'HS256', typ: 'JWT' }))}.${b64(JSON.stringify(claims))}`;
  return `${head}.${createHmac('sha256', secret).update(head).digest('base64url')}`;
}

/** PyJWT's checks, with its error wording (used in the refresh endpoint's 401 details). */
function verifyJwt(token: string, typ: 'access' | 'refresh'): { ok: true; claims: Claims } | { ok: false; reason: string } {
  const [head, body, sig] = token.split('.');
  if (head === undefined || body === undefined || sig === undefined) return { ok: false, reason: 'Not enough segments' };
  const expected = createHmac('sha256', FAKE_JWT_SECRET).update(`${head}.${body}`).digest();
  const given = Buffer.from(sig, 'base64url');
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) return { ok: false, reason: 'Signature verification failed' };
  let claims: Claims;
  try {
    claims = Claims.parse(JSON.parse(Buffer.from(body, 'base64url').toString('utf8')));
  } catch {
    return { ok: false, reason: 'Invalid payload' };
  }
  if (claims.exp === undefined || claims.iat === undefined || claims.sub === undefined) return { ok: false, reason: 'Token is missing a required claim' };
  if (claims.exp <= Date.now() / 1000) return { ok: false, reason: typ === 'refresh' ? 'Refresh token expired' : 'Signature has expired' };
  if (claims.typ !== typ) return { ok: false, reason: `Invalid token type (expected ${typ})` };
  return { ok: true, claims };
}

// ---- HTTP plumbing -------------------------------------------------------------------------------

const naiveUtc = (d = new Date()): string => d.toISOString().replace('Z', '000');

function sendJson(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

const internalError = (res: ServerResponse): void =>
  sendJson(res, 500, { detail: `An internal error occurred. Please try again later. (ref: ${randomBytes(4).toString('hex')})` });

async function readBody(req: IncomingMessage): Promise<{ value: unknown; invalidJson: boolean }> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  const raw = Buffer.concat(chunks).toString('utf8');
  if (raw === '') return { value: undefined, invalidJson: false };
  if ((req.headers['content-type'] ?? '').includes('application/x-www-form-urlencoded')) {
    return { value: Object.fromEntries(new URLSearchParams(raw)), invalidJson: false };
  }
  try {
    return { value: JSON.parse(raw), invalidJson: false };
  } catch {
    return { value: raw, invalidJson: true };
  }
}

const isObject = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v);

function valueAt(root: unknown, path: PropertyKey[]): unknown {
  let v = root;
  for (const key of path) v = isObject(v) || Array.isArray(v) ? (v as Record<PropertyKey, unknown>)[key] : undefined;
  return v;
}

/** zod issues rendered the way FastAPI/pydantic v2 reports them (§1.2). */
function fastApiIssues(error: z.ZodError, body: unknown, prefix: string): ValidationIssue[] {
  return error.issues.map((i) => {
    const input = valueAt(body, i.path);
    const loc = [prefix, ...i.path.map((p) => (typeof p === 'number' ? p : String(p)))];
    if (i.code === 'invalid_type') {
      if (input === undefined) return { type: 'missing', loc, msg: 'Field required', input: body };
      const kind = { string: 'string', number: 'integer', array: 'list' }[i.expected as string] ?? i.expected;
      return { type: `${kind === 'integer' ? 'int' : kind}_type`, loc, msg: `Input should be a valid ${kind}`, input };
    }
    if ((i.code === 'too_small' || i.code === 'too_big') && i.origin === 'string') {
      const n = Number(i.code === 'too_small' ? i.minimum : i.maximum);
      const word = i.code === 'too_small' ? 'least' : 'most';
      return { type: `string_too_${i.code === 'too_small' ? 'short' : 'long'}`, loc, msg: `String should have at ${word} ${n} character${n === 1 ? '' : 's'}`, input };
    }
    if (i.code === 'too_small') return { type: 'greater_than_equal', loc, msg: `Input should be greater than or equal to ${i.minimum}`, input };
    if (i.code === 'too_big') return { type: 'less_than_equal', loc, msg: `Input should be less than or equal to ${i.maximum}`, input };
    return { type: 'value_error', loc, msg: i.message, input };
  });
}

function bodyProblem(body: { value: unknown; invalidJson: boolean }): ValidationIssue[] | undefined {
  if (body.invalidJson) return [{ type: 'json_invalid', loc: ['body', 0], msg: 'JSON decode error', input: {} }];
  if (body.value === undefined) return [{ type: 'missing', loc: ['body'], msg: 'Field required', input: null }];
  if (!isObject(body.value)) {
    return [{ type: 'model_attributes_type', loc: ['body'], msg: 'Input should be a valid dictionary or object to extract fields from', input: body.value }];
  }
  return undefined;
}

function bearerOrCookie(headers: IncomingHttpHeaders): string | undefined {
  const auth = headers.authorization;
  if (auth && /^bearer /i.test(auth) && auth.slice(7).trim()) return auth.slice(7).trim();
  for (const part of (headers.cookie ?? '').split(';')) {
    const [k, ...v] = part.trim().split('=');
    if (k === 'sibyl_access_token' && v.length) return v.join('=');
  }
  return undefined;
}

function rejectUpgrade(socket: Duplex, status: number): void {
  const text = status === 403 ? 'Forbidden' : 'Internal Server Error';
  socket.end(`HTTP/1.1 ${status} ${text}\r\nContent-Type: text/plain\r\nContent-Length: ${text.length}\r\nConnection: close\r\n\r\n${text}`);
}

// ---- the fake ----------------------------------------------------------------------------------

export class FakeCore {
  readonly options: FakeCoreOptions;
  readonly userId = randomUUID();
  readonly orgId = randomUUID();
  readonly requests: HttpRecord[] = [];
  readonly frames: InboundFrame[] = [];
  readonly invalidFrames: InvalidFrame[] = [];
  readonly handshakes: Handshake[] = [];
  port = 0;

  private server: Server | undefined;
  private heartbeatTimer: NodeJS.Timeout | undefined;
  private readonly wss = new WebSocketServer({ noServer: true });
  private readonly runners = new Map<string, RunnerRecord>();
  private readonly conns = new Map<string, Conn>();
  private readonly devices = new Map<string, DeviceRecord>();
  private readonly sessions = new Map<string, Session>();
  private readonly apiKeys = new Map<string, { scopes: string[] }>();
  private readonly failures: { method: string; path: string; status: number; body: unknown; remaining: number }[] = [];
  private readonly waiters = new Set<(f: InboundFrame) => void>();

  constructor(options: FakeCoreOptions = {}) {
    this.options = { ...options };
    this.port = options.port ?? 0;
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
      this.onRequest(req, res).catch(() => internalError(res));
    });
    server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => this.onUpgrade(req, socket, head));
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.port, '127.0.0.1', () => resolve());
    });
    this.server = server;
    this.port = (server.address() as AddressInfo).port;
    const every = this.options.heartbeatIntervalMs ?? 30_000;
    if (every > 0) {
      this.heartbeatTimer = setInterval(() => this.heartbeatTick(), every);
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
    const now = Math.floor(Date.now() / 1000);
    const claims: Record<string, unknown> = { typ: 'access', iat: now, exp: now + (opts.ttlS ?? this.options.accessTokenTtlS ?? 3600) };
    if (opts.sub !== null) claims.sub = opts.sub ?? this.userId;
    if (opts.org !== null) claims.org = opts.org ?? this.orgId;
    if (opts.rid !== undefined) claims.rid = opts.rid;
    if (opts.scope !== undefined) claims.scope = opts.scope;
    return signJwt({ ...claims, ...opts.extra });
  }

  /** A new session (as after a login): an access token and a rotating refresh token. */
  issueTokenPair(opts: { scope?: string; ttlS?: number; sub?: string; org?: string } = {}): TokenResponse {
    const sub = opts.sub ?? this.userId;
    const org = opts.org ?? this.orgId;
    const sid = randomUUID();
    this.sessions.set(sid, { sub, org, jti: '' });
    return this.rotate(sid, opts);
  }

  /** An `sk_test_` key for REST only (§2.10); default scopes allow every runner route. */
  issueApiKey(scopes: string[] = ['api:write']): string {
    const key = `sk_test_${randomBytes(32).toString('base64url')}`;
    this.apiKeys.set(key, { scopes });
    return key;
  }

  /** Every refresh token issued so far dies (as after logout everywhere). */
  revokeSessions(): void {
    this.sessions.clear();
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
    const runner = this.createRunner(
      RegisterRequest.parse({ name: opts.name ?? 'test-runner', hostname: opts.hostname ?? 'test-host', capabilities: opts.capabilities, max_concurrent_agents: opts.max_concurrent_agents }),
      userId,
      orgId,
    );
    const accessToken = this.mintAccessToken({ sub: userId, org: orgId, ...(opts.bindToken ? { rid: runner.id } : {}) });
    return { id: runner.id, accessToken, runner };
  }

  runner(id: string): RunnerResponse | undefined {
    return this.runners.get(id)?.data;
  }

  removeRunner(id: string): void {
    this.runners.delete(id);
  }

  /** The next `count` requests to `method path` get this answer instead; a string body goes out as text/html. */
  failNext(method: string, path: string, status: number, body: unknown, count = 1): void {
    this.failures.push({ method, path, status, body, remaining: count });
  }

  // ---- WebSocket controls ----

  get connectionCount(): number {
    return [...this.wss.clients].filter((ws) => ws.readyState === ws.OPEN).length;
  }

  connected(runnerId: string): boolean {
    const conn = this.conns.get(runnerId);
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
    for (const ws of this.wss.clients) ws.terminate();
  }

  // ---- observing ----

  messagesOf<T extends RunnerMessage['type']>(type: T, runnerId?: string): Extract<RunnerMessage, { type: T }>[] {
    const out: Extract<RunnerMessage, { type: T }>[] = [];
    for (const f of this.frames) {
      if (f.message?.type === type && (runnerId === undefined || f.runnerId === runnerId)) out.push(f.message as Extract<RunnerMessage, { type: T }>);
    }
    return out;
  }

  /** The first recorded frame (already received or yet to come) that matches. */
  waitFor(predicate: (f: InboundFrame) => boolean, timeoutMs = 5000, description = 'a matching frame'): Promise<InboundFrame> {
    const found = this.frames.find(predicate);
    if (found) return Promise.resolve(found);
    return new Promise((resolve, reject) => {
      const waiter = (f: InboundFrame): void => {
        if (!predicate(f)) return;
        this.waiters.delete(waiter);
        clearTimeout(timer);
        resolve(f);
      };
      const timer = setTimeout(() => {
        this.waiters.delete(waiter);
        const seen = this.frames.slice(-10).map((f) => f.raw.slice(0, 80)).join('\n  ');
        reject(new Error(`fakeCore: timed out after ${timeoutMs} ms waiting for ${description}; last frames:\n  ${seen || '(none)'}`));
      }, timeoutMs);
      this.waiters.add(waiter);
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
    const conn = this.conns.get(runnerId);
    if (!conn) throw new Error(`fakeCore: runner ${runnerId} is not connected`);
    return conn;
  }

  private device(userCode: string): DeviceRecord {
    const wanted = userCode.toUpperCase().replace(/[\s-]/g, '');
    const found = [...this.devices.values()].find((d) => d.userCode.replace('-', '') === wanted);
    if (!found) throw new Error(`fakeCore: no device login with user code ${userCode}`);
    return found;
  }

  private createRunner(req: z.output<typeof RegisterRequest>, userId: string, orgId: string): RunnerResponse {
    const now = naiveUtc();
    const data = RunnerResponse.parse({
      id: randomUUID(),
      name: req.name,
      hostname: req.hostname,
      graph_runner_id: `runner_${randomBytes(8).toString('hex')}`,
      capabilities: req.capabilities,
      max_concurrent_agents: req.max_concurrent_agents,
      current_agent_count: 0,
      status: 'offline',
      last_heartbeat: null,
      client_version: req.client_version ?? null,
      created_at: now,
      updated_at: now,
    });
    this.runners.set(data.id, { data, orgId, userId });
    return data;
  }

  private rotate(sid: string, opts: { scope?: string; ttlS?: number }): TokenResponse {
    const session = this.sessions.get(sid);
    if (!session) throw new Error('fakeCore: no such session');
    const now = Math.floor(Date.now() / 1000);
    session.jti = randomUUID();
    const refresh = signJwt({ sub: session.sub, org: session.org, typ: 'refresh', jti: session.jti, sid, iat: now, exp: now + (this.options.refreshTokenTtlS ?? 30 * 86400) });
    const ttl = opts.ttlS ?? this.options.accessTokenTtlS ?? 3600;
    const access = this.mintAccessToken({ sub: session.sub, org: session.org, ttlS: ttl, ...(opts.scope ? { scope: opts.scope } : {}) });
    return TokenResponse.parse({ access_token: access, refresh_token: refresh, token_type: 'Bearer', expires_in: ttl, ...(opts.scope ? { scope: opts.scope } : {}) });
  }

  /** §2.3 and §2.12: a JWT first, then an API key; `undefined` ⇒ 401 Not authenticated. */
  private principal(req: IncomingMessage, method: string): Principal | { status: number; detail: string } {
    const token = bearerOrCookie(req.headers);
    if (!token) return { status: 401, detail: 'Not authenticated' };
    const jwt = verifyJwt(token, 'access');
    if (jwt.ok) {
      if (!UUID.test(jwt.claims.sub ?? '')) return { status: 401, detail: 'Invalid token' };
      return { sub: jwt.claims.sub ?? '', org: jwt.claims.org };
    }
    const key = token.startsWith('sk_') ? this.apiKeys.get(token) : undefined;
    if (!key) return { status: 401, detail: 'Not authenticated' };
    const read = method === 'GET' || method === 'HEAD' || method === 'OPTIONS';
    if (!key.scopes.includes('api:write') && !(read && key.scopes.includes('api:read'))) return { status: 403, detail: 'Insufficient API key scope' };
    return { sub: this.userId, org: this.orgId };
  }

  private async onRequest(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const method = req.method ?? 'GET';
    const path = new URL(req.url ?? '/', 'http://fake').pathname;
    const body = await readBody(req);
    this.requests.push({ method, path, headers: req.headers, body: body.value, at: performance.now() });
    const failure = this.failures.find((f) => f.method === method && f.path === path && f.remaining > 0);
    if (failure) {
      failure.remaining--;
      if (typeof failure.body === 'string') {
        res.writeHead(failure.status, { 'content-type': 'text/html' });
        res.end(failure.body);
      } else sendJson(res, failure.status, failure.body);
      return;
    }
    if (method === 'GET' && path === '/api/health') return sendJson(res, 200, { status: 'healthy', version: '0.0.0-fake' });
    if (method === 'POST' && path === '/api/auth/device') return this.deviceStart(body.value, res);
    if (method === 'POST' && path === '/api/auth/device/token') return this.deviceToken(body.value, res);
    if (method === 'POST' && path === '/api/auth/refresh') return this.refresh(body.value, res);
    if (method === 'GET' && path === '/api/auth/me') return this.me(req, res);
    const runnerPath = /^\/api\/runners(?:\/([^/]+))?$/.exec(path);
    if (runnerPath) return this.runnerRoute(req, res, method, runnerPath[1], body);
    sendJson(res, 404, { detail: 'Not Found' });
  }

  private runnerRoute(req: IncomingMessage, res: ServerResponse, method: string, id: string | undefined, body: { value: unknown; invalidJson: boolean }): void {
    const who = this.principal(req, method);
    if ('status' in who) return sendJson(res, who.status, { detail: who.detail });
    if (!who.org) return sendJson(res, 403, { detail: 'No organization context' });
    if (id === undefined && method === 'GET') {
      const runners = [...this.runners.values()].filter((r) => r.orgId === who.org).map((r) => r.data).reverse();
      return sendJson(res, 200, { runners, total: runners.length });
    }
    if (id === 'register' && method === 'POST') {
      const problem = bodyProblem(body);
      if (problem) return sendJson(res, 422, { detail: problem });
      const parsed = RegisterRequest.safeParse(body.value);
      if (!parsed.success) return sendJson(res, 422, { detail: fastApiIssues(parsed.error, body.value, 'body') });
      return sendJson(res, 200, this.createRunner(parsed.data, who.sub, who.org));
    }
    if (id === undefined || (method !== 'GET' && method !== 'PATCH')) return sendJson(res, 405, { detail: 'Method Not Allowed' });
    if (!UUID.test(id)) {
      return sendJson(res, 422, { detail: [{ type: 'uuid_parsing', loc: ['path', 'runner_id'], msg: 'Input should be a valid UUID', input: id }] });
    }
    const record = this.runners.get(id.toLowerCase());
    if (!record || record.orgId !== who.org) return sendJson(res, 404, { detail: 'Runner not found' });
    if (method === 'GET') return sendJson(res, 200, record.data);
    const problem = bodyProblem(body);
    if (problem) return sendJson(res, 422, { detail: problem });
    const patch = PatchRunnerRequest.safeParse(body.value);
    if (!patch.success) return sendJson(res, 422, { detail: fastApiIssues(patch.error, body.value, 'body') });
    if (record.userId !== who.sub) return sendJson(res, 403, { detail: "Cannot update runner you don't own" });
    const { name, capabilities, max_concurrent_agents } = patch.data;
    record.data = RunnerResponse.parse({
      ...record.data,
      ...(name == null ? {} : { name }),
      ...(capabilities == null ? {} : { capabilities }),
      ...(max_concurrent_agents == null ? {} : { max_concurrent_agents }),
      updated_at: naiveUtc(),
    });
    sendJson(res, 200, record.data);
  }

  private me(req: IncomingMessage, res: ServerResponse): void {
    const who = this.principal(req, 'GET');
    if ('status' in who) return sendJson(res, who.status, { detail: who.detail });
    const inOrg = who.org === this.orgId;
    sendJson(res, 200, MeResponse.parse({
      user: { id: who.sub, github_id: null, email: 'ada@example.com', name: 'Ada', avatar_url: null, is_admin: false },
      organization: inOrg ? { id: this.orgId, slug: `u-${this.userId}`, name: 'Ada' } : null,
      org_role: inOrg ? 'owner' : null,
    }));
  }

  /** §2.4.1: values arrive as strings or numbers; in-handler validation fails with HTTP 500 (S14). */
  private deviceStart(value: unknown, res: ServerResponse): void {
    const raw = isObject(value) ? value : {};
    const int = (v: unknown): number | undefined => (v === undefined ? undefined : Number(String(v)));
    const parsed = DeviceStartRequest.safeParse({
      client_name: raw.client_name === undefined ? undefined : String(raw.client_name),
      scope: raw.scope === undefined ? undefined : String(raw.scope),
      interval: int(raw.interval),
      expires_in: int(raw.expires_in),
    });
    if (!parsed.success) return internalError(res);
    const pick = (n: number): string => USER_CODE_ALPHABET[n % USER_CODE_ALPHABET.length] ?? 'A';
    const letters = [...randomBytes(8)].map(pick).join('');
    const d: DeviceRecord = {
      deviceCode: randomBytes(32).toString('base64url'),
      userCode: `${letters.slice(0, 4)}-${letters.slice(4)}`,
      scope: parsed.data.scope ?? 'mcp',
      intervalS: this.options.deviceIntervalS ?? parsed.data.interval ?? 5,
      expiresAt: 0,
      state: 'pending',
      lastPollAt: undefined,
    };
    const expiresIn = this.options.deviceExpiresInS ?? parsed.data.expires_in ?? 600;
    d.expiresAt = Date.now() + expiresIn * 1000;
    this.devices.set(d.deviceCode, d);
    const verify = `${this.url}/api/auth/device/verify`;
    sendJson(res, 200, DeviceStartResponse.parse({
      device_code: d.deviceCode,
      user_code: d.userCode,
      verification_uri: verify,
      verification_uri_complete: `${verify}?user_code=${d.userCode}`,
      expires_in: expiresIn,
      interval: d.intervalS,
    }));
  }

  /** §2.4.3, errors in exactly the documented order. */
  private deviceToken(value: unknown, res: ServerResponse): void {
    const oauth = (error: string, description?: string): void => sendJson(res, 400, description ? { error, error_description: description } : { error });
    const raw = isObject(value) ? value : {};
    const parsed = DeviceTokenRequest.safeParse({ device_code: raw.device_code === undefined ? undefined : String(raw.device_code), grant_type: raw.grant_type === undefined ? undefined : String(raw.grant_type) });
    if (!parsed.success) return internalError(res);
    if (parsed.data.grant_type !== undefined && parsed.data.grant_type !== DeviceGrantType) return oauth('unsupported_grant_type');
    const d = this.devices.get(parsed.data.device_code);
    if (!d) return oauth('invalid_grant', 'Invalid device_code');
    if (Date.now() > d.expiresAt) return oauth('expired_token', 'Device code expired');
    if (d.state === 'denied') return oauth('access_denied', 'User denied the request');
    if (d.state === 'consumed') return oauth('invalid_grant', 'Device code already used');
    if (d.state === 'pending') {
      const now = performance.now();
      // A few ms of slack: Node timers may fire up to 1 ms early against the monotonic clock.
      if (d.lastPollAt !== undefined && now - d.lastPollAt < d.intervalS * 1000 - 5) return oauth('slow_down', 'Polling too frequently');
      d.lastPollAt = now;
      return oauth('authorization_pending', 'Authorization pending');
    }
    d.state = 'consumed';
    sendJson(res, 200, this.issueTokenPair({ scope: d.scope }));
  }

  /** §2.6: rotation; the refresh token used dies. */
  private refresh(value: unknown, res: ServerResponse): void {
    const fail = (detail: string): void => sendJson(res, 401, { detail });
    const token = isObject(value) && value.refresh_token !== undefined ? String(value.refresh_token) : undefined;
    if (token === undefined) return fail('No refresh token provided');
    if (!RefreshRequest.safeParse({ refresh_token: token }).success) return internalError(res);
    const jwt = verifyJwt(token, 'refresh');
    if (!jwt.ok) return fail(`Invalid refresh token: ${jwt.reason}`);
    if (jwt.claims.jti === undefined) return fail('Invalid refresh token: Token is missing the "jti" claim');
    const session = jwt.claims.sid === undefined ? undefined : this.sessions.get(jwt.claims.sid);
    if (!session || session.jti !== jwt.claims.jti || jwt.claims.sid === undefined) return fail('Session not found or revoked');
    sendJson(res, 200, this.rotate(jwt.claims.sid, {}));
  }

  // ---- runner WebSocket (§4) ----

  private onUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    const path = new URL(req.url ?? '/', 'http://fake').pathname;
    const runnerId = /^\/api\/runners\/ws\/([^/]+)$/.exec(path)?.[1] ?? '';
    const record = (outcome: string): void => {
      this.handshakes.push({ runnerId, at: performance.now(), headers: req.headers, outcome });
    };
    const status = this.options.upgradeStatus ?? (UUID.test(runnerId) ? undefined : 403);
    if (status !== undefined) {
      record(`http ${status}`);
      return rejectUpgrade(socket, status);
    }
    this.wss.handleUpgrade(req, socket, head, (ws) => {
      ws.on('error', () => undefined);
      const refused = this.wsRefusal(req, runnerId.toLowerCase());
      if (refused) {
        record(`close ${refused[0]} ${refused[1]}`);
        return ws.close(refused[0], refused[1]);
      }
      record('accepted');
      this.accept(ws, runnerId.toLowerCase());
    });
  }

  /** §4.2 checks b–f, in order; sandbox runners (g–i) do not exist in the fake. */
  private wsRefusal(req: IncomingMessage, runnerId: string): [number, string] | undefined {
    const token = bearerOrCookie(req.headers);
    const jwt = token === undefined ? undefined : verifyJwt(token, 'access');
    if (!jwt?.ok) return [1008, 'Authentication required'];
    const { sub, org, rid, sid } = jwt.claims;
    const uuidOrAbsent = (v: string | undefined): boolean => v === undefined || UUID.test(v);
    if (!sub || !org || !UUID.test(sub) || !UUID.test(org) || !uuidOrAbsent(rid) || !uuidOrAbsent(sid)) return [1008, 'Authentication required'];
    if (rid !== undefined && rid.toLowerCase() !== runnerId) return [1008, 'Runner claim does not match requested runner'];
    const rawScopes = jwt.claims.scp ?? jwt.claims.scope;
    const scopes = typeof rawScopes === 'string' ? rawScopes.split(/\s+/).filter(Boolean) : Array.isArray(rawScopes) ? rawScopes.map(String) : [];
    if (scopes.length > 0 && !scopes.some((s) => RUNNER_SCOPES.includes(s))) return [1008, 'Insufficient runner scope'];
    const runner = this.runners.get(runnerId);
    if (!runner || runner.orgId !== org) return [1008, 'Runner not found or not in your organization'];
    if (runner.userId !== sub) return [1008, 'Not authorized for this runner'];
    return undefined;
  }

  private accept(ws: WebSocket, runnerId: string): void {
    const conn: Conn = { ws, runnerId, silenced: false };
    const old = this.conns.get(runnerId);
    this.conns.set(runnerId, conn);
    // A silenced link is dead; a close frame would never get its reply.
    if (old?.silenced) old.ws.terminate();
    else if (old) old.ws.close(1000, 'Replaced by new connection');
    this.setRunner(runnerId, { status: 'online', last_heartbeat: naiveUtc() });
    ws.on('message', (data, isBinary) => this.onFrame(conn, data, isBinary));
    ws.on('close', () => {
      if (this.options.orphanOnReplace || this.conns.get(runnerId) === conn) {
        this.conns.delete(runnerId);
        this.setRunner(runnerId, { status: 'offline' });
      }
    });
  }

  private setRunner(id: string, patch: Partial<RunnerResponse>): void {
    const record = this.runners.get(id);
    if (record) record.data = { ...record.data, ...patch };
  }

  private heartbeatTick(): void {
    const server_time = new Date().toISOString().replace('Z', '000+00:00');
    for (const conn of this.conns.values()) {
      if (!conn.silenced && conn.ws.readyState === conn.ws.OPEN) conn.ws.send(JSON.stringify({ type: 'heartbeat', server_time }));
    }
  }

  private onFrame(conn: Conn, data: RawData, isBinary: boolean): void {
    if (conn.silenced) return;
    const buf = Buffer.isBuffer(data) ? data : Array.isArray(data) ? Buffer.concat(data) : Buffer.from(data);
    const raw = buf.toString('utf8');
    const at = performance.now();
    let json: unknown;
    try {
      json = isBinary ? undefined : JSON.parse(raw);
    } catch {
      json = undefined;
    }
    const valid = isBinary ? undefined : RunnerMessage.safeParse(json);
    const frame: InboundFrame = { runnerId: conn.runnerId, at, raw, json, message: valid?.success ? valid.data : undefined };
    this.frames.push(frame);
    if (!valid?.success) {
      const error = isBinary ? 'binary frame' : json === undefined ? 'not JSON' : (valid?.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ') ?? '');
      this.invalidFrames.push({ runnerId: conn.runnerId, at, raw, error });
    }
    for (const waiter of [...this.waiters]) waiter(frame);
    this.reply(conn, json, isBinary);
  }

  /** What the real server does with each frame (§4.5–4.6), including its crashes (S13). */
  private reply(conn: Conn, json: unknown, isBinary: boolean): void {
    const { ws, runnerId } = conn;
    const answer = (obj: object): void => ws.send(JSON.stringify(obj));
    if (isBinary) return ws.terminate();
    if (json === undefined) return answer({ type: 'error', message: 'Invalid JSON' });
    if (!isObject(json)) return ws.terminate();
    const type = json.type;
    if (typeof type !== 'string' || !RUNNER_TYPES.has(type)) return answer({ type: 'error', message: `Unknown message type: ${typeof type === 'string' ? type : 'None'}` });
    if (type === 'heartbeat_ack') return this.setRunner(runnerId, { last_heartbeat: naiveUtc() });
    if (type === 'status') {
      const count = json.agent_count ?? 0;
      if (typeof count !== 'number' || !Number.isInteger(count)) return ws.terminate();
      if (json.status === 'online' || json.status === 'busy' || json.status === 'draining') this.setRunner(runnerId, { status: json.status, current_agent_count: count });
      return;
    }
    if (type === 'project_register') {
      const projectId = json.project_id;
      if (!projectId || !json.worktree_path) return;
      if (typeof projectId !== 'string' || !UUID.test(projectId)) return answer({ type: 'error', message: 'Invalid JSON' });
      answer({ type: 'project_registered', project_id: projectId });
    }
  }
}
