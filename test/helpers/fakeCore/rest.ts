import { randomBytes } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type * as z from 'zod';
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
  type ValidationIssue,
} from '../../../main/runner/api/schemas.ts';
import { bearerOrCookie, issueTokenPair, rotate, verifyJwt } from './jwt.ts';
import { createRunner, isObject, naiveUtc, UUID, type CoreState, type DeviceRecord, type RunnerRecord } from './state.ts';

/** The fake's REST face (§2–§3): health, auth (device flow, refresh, me) and the runner routes, with their errors. */

type Principal = { sub: string; org: string | undefined };
type Body = { value: unknown; invalidJson: boolean };

const USER_CODE_ALPHABET = 'ABCDEFGHJKLMNPQRSTUVWXYZ23456789';

// ---- HTTP plumbing -------------------------------------------------------------------------------

function sendJson(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

export const internalError = (res: ServerResponse): void =>
  sendJson(res, 500, { detail: `An internal error occurred. Please try again later. (ref: ${randomBytes(4).toString('hex')})` });

async function readBody(req: IncomingMessage): Promise<Body> {
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
      const kind = ({ string: 'string', number: 'integer', array: 'list' } as Record<string, string>)[i.expected] ?? i.expected;
      return { type: `${kind === 'integer' ? 'int' : kind}_type`, loc, msg: `Input should be a valid ${kind}`, input };
    }
    if ((i.code === 'too_small' || i.code === 'too_big') && i.origin === 'string') {
      const n = Number(i.code === 'too_small' ? i.minimum : i.maximum);
      const word = i.code === 'too_small' ? 'least' : 'most';
      return {
        type: `string_too_${i.code === 'too_small' ? 'short' : 'long'}`,
        loc,
        msg: `String should have at ${word} ${n} character${n === 1 ? '' : 's'}`,
        input,
      };
    }
    if (i.code === 'too_small')
      return { type: 'greater_than_equal', loc, msg: `Input should be greater than or equal to ${i.minimum}`, input };
    if (i.code === 'too_big') return { type: 'less_than_equal', loc, msg: `Input should be less than or equal to ${i.maximum}`, input };
    return { type: 'value_error', loc, msg: i.message, input };
  });
}

function bodyProblem(body: Body): ValidationIssue[] | undefined {
  if (body.invalidJson) return [{ type: 'json_invalid', loc: ['body', 0], msg: 'JSON decode error', input: {} }];
  if (body.value === undefined) return [{ type: 'missing', loc: ['body'], msg: 'Field required', input: null }];
  if (!isObject(body.value)) {
    return [
      {
        type: 'model_attributes_type',
        loc: ['body'],
        msg: 'Input should be a valid dictionary or object to extract fields from',
        input: body.value,
      },
    ];
  }
  return undefined;
}

// ---- routing -------------------------------------------------------------------------------------

/** Records the request, plays any `failNext` answer, then routes it. */
export async function handleRequest(state: CoreState, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const method = req.method ?? 'GET';
  const path = new URL(req.url ?? '/', 'http://fake').pathname;
  const body = await readBody(req);
  state.requests.push({ method, path, headers: req.headers, body: body.value, at: performance.now() });
  const failure = state.failures.find((f) => f.method === method && f.path === path && f.remaining > 0);
  if (failure) {
    failure.remaining--;
    if (typeof failure.body === 'string') {
      res.writeHead(failure.status, { 'content-type': 'text/html' });
      res.end(failure.body);
    } else sendJson(res, failure.status, failure.body);
    return;
  }
  if (method === 'GET' && path === '/api/health') return sendJson(res, 200, { status: 'healthy', version: '0.0.0-fake' });
  if (method === 'POST' && path === '/api/auth/device') return deviceStart(state, body.value, res);
  if (method === 'POST' && path === '/api/auth/device/token') return deviceToken(state, body.value, res);
  if (method === 'POST' && path === '/api/auth/refresh') return refresh(state, body.value, res);
  if (method === 'GET' && path === '/api/auth/me') return me(state, req, res);
  const runnerPath = /^\/api\/runners(?:\/([^/]+))?$/.exec(path);
  if (runnerPath) return runnerRoute(state, req, res, method, runnerPath[1], body);
  sendJson(res, 404, { detail: 'Not Found' });
}

/** §2.3 and §2.12: a JWT first, then an API key; `undefined` ⇒ 401 Not authenticated. */
function principal(state: CoreState, req: IncomingMessage, method: string): Principal | { status: number; detail: string } {
  const token = bearerOrCookie(req.headers);
  if (!token) return { status: 401, detail: 'Not authenticated' };
  const jwt = verifyJwt(token, 'access');
  if (jwt.ok) {
    if (!UUID.test(jwt.claims.sub ?? '')) return { status: 401, detail: 'Invalid token' };
    return { sub: jwt.claims.sub ?? '', org: jwt.claims.org };
  }
  const key = token.startsWith('sk_') ? state.apiKeys.get(token) : undefined;
  if (!key) return { status: 401, detail: 'Not authenticated' };
  const read = method === 'GET' || method === 'HEAD' || method === 'OPTIONS';
  if (!key.scopes.includes('api:write') && !(read && key.scopes.includes('api:read')))
    return { status: 403, detail: 'Insufficient API key scope' };
  return { sub: state.userId, org: state.orgId };
}

function runnerRoute(
  state: CoreState,
  req: IncomingMessage,
  res: ServerResponse,
  method: string,
  id: string | undefined,
  body: Body,
): void {
  const who = principal(state, req, method);
  if ('status' in who) return sendJson(res, who.status, { detail: who.detail });
  if (!who.org) return sendJson(res, 403, { detail: 'No organization context' });
  if (id === undefined && method === 'GET') {
    const runners = [...state.runners.values()]
      .filter((r) => r.orgId === who.org)
      .map((r) => r.data)
      .reverse();
    return sendJson(res, 200, { runners, total: runners.length });
  }
  if (id === 'register' && method === 'POST') {
    const problem = bodyProblem(body);
    if (problem) return sendJson(res, 422, { detail: problem });
    const parsed = RegisterRequest.safeParse(body.value);
    if (!parsed.success) return sendJson(res, 422, { detail: fastApiIssues(parsed.error, body.value, 'body') });
    return sendJson(res, 200, createRunner(state, parsed.data, who.sub, who.org));
  }
  if (id === undefined || (method !== 'GET' && method !== 'PATCH' && method !== 'DELETE'))
    return sendJson(res, 405, { detail: 'Method Not Allowed' });
  if (!UUID.test(id)) {
    return sendJson(res, 422, {
      detail: [{ type: 'uuid_parsing', loc: ['path', 'runner_id'], msg: 'Input should be a valid UUID', input: id }],
    });
  }
  const record = state.runners.get(id.toLowerCase());
  if (!record || record.orgId !== who.org) return sendJson(res, 404, { detail: 'Runner not found' });
  if (method === 'GET') return sendJson(res, 200, record.data);
  if (method === 'DELETE') return deleteRunner(state, res, record, who.sub);
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

/** §3.6: the owner only (the fake has no org admins), and only while offline; a connected socket is closed 1008. */
function deleteRunner(state: CoreState, res: ServerResponse, record: RunnerRecord, sub: string): void {
  if (record.userId !== sub) return sendJson(res, 403, { detail: "Cannot delete runner you don't own" });
  if (record.data.status !== 'offline')
    return sendJson(res, 400, { detail: 'Runner must be offline before deletion. Disconnect it first.' });
  state.runners.delete(record.data.id);
  state.conns.get(record.data.id)?.ws.close(1008, 'Runner not found or not in your organization');
  sendJson(res, 200, { status: 'deleted', runner_id: record.data.id });
}

function me(state: CoreState, req: IncomingMessage, res: ServerResponse): void {
  const who = principal(state, req, 'GET');
  if ('status' in who) return sendJson(res, who.status, { detail: who.detail });
  const inOrg = who.org === state.orgId;
  sendJson(
    res,
    200,
    MeResponse.parse({
      user: { id: who.sub, github_id: null, email: 'ada@example.com', name: 'Ada', avatar_url: null, is_admin: false },
      organization: inOrg ? { id: state.orgId, slug: `u-${state.userId}`, name: 'Ada' } : null,
      org_role: inOrg ? 'owner' : null,
    }),
  );
}

// ---- device flow (§2.4) and refresh (§2.6) -------------------------------------------------------

/** §2.4.1: values arrive as strings or numbers; in-handler validation fails with HTTP 500 (S14). */
/** A form or JSON value as FastAPI coerces it to a string field. */
function formValue(v: unknown): string {
  return typeof v === 'string' ? v : JSON.stringify(v);
}

function deviceStart(state: CoreState, value: unknown, res: ServerResponse): void {
  const raw = isObject(value) ? value : {};
  const int = (v: unknown): number | undefined => (v === undefined ? undefined : Number(formValue(v)));
  const parsed = DeviceStartRequest.safeParse({
    client_name: raw.client_name === undefined ? undefined : formValue(raw.client_name),
    scope: raw.scope === undefined ? undefined : formValue(raw.scope),
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
    intervalS: state.options.deviceIntervalS ?? parsed.data.interval ?? 5,
    expiresAt: 0,
    state: 'pending',
    lastPollAt: undefined,
  };
  const expiresIn = state.options.deviceExpiresInS ?? parsed.data.expires_in ?? 600;
  d.expiresAt = Date.now() + expiresIn * 1000;
  state.devices.set(d.deviceCode, d);
  const verify = `${state.url()}/api/auth/device/verify`;
  sendJson(
    res,
    200,
    DeviceStartResponse.parse({
      device_code: d.deviceCode,
      user_code: d.userCode,
      verification_uri: verify,
      verification_uri_complete: `${verify}?user_code=${d.userCode}`,
      expires_in: expiresIn,
      interval: d.intervalS,
    }),
  );
}

/** §2.4.3, errors in exactly the documented order. */
function deviceToken(state: CoreState, value: unknown, res: ServerResponse): void {
  const oauth = (error: string, description?: string): void =>
    sendJson(res, 400, description ? { error, error_description: description } : { error });
  const raw = isObject(value) ? value : {};
  const parsed = DeviceTokenRequest.safeParse({
    device_code: raw.device_code === undefined ? undefined : formValue(raw.device_code),
    grant_type: raw.grant_type === undefined ? undefined : formValue(raw.grant_type),
  });
  if (!parsed.success) return internalError(res);
  if (parsed.data.grant_type !== undefined && parsed.data.grant_type !== DeviceGrantType) return oauth('unsupported_grant_type');
  const d = state.devices.get(parsed.data.device_code);
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
  sendJson(res, 200, issueTokenPair(state, { scope: d.scope }));
}

/** §2.6: rotation; the refresh token used dies. */
function refresh(state: CoreState, value: unknown, res: ServerResponse): void {
  const fail = (detail: string): void => sendJson(res, 401, { detail });
  const token = isObject(value) && value.refresh_token !== undefined ? formValue(value.refresh_token) : undefined;
  if (token === undefined) return fail('No refresh token provided');
  if (!RefreshRequest.safeParse({ refresh_token: token }).success) return internalError(res);
  const jwt = verifyJwt(token, 'refresh');
  if (!jwt.ok) return fail(`Invalid refresh token: ${jwt.reason}`);
  if (jwt.claims.jti === undefined) return fail('Invalid refresh token: Token is missing the "jti" claim');
  const session = jwt.claims.sid === undefined ? undefined : state.sessions.get(jwt.claims.sid);
  if (!session || session.jti !== jwt.claims.jti || jwt.claims.sid === undefined) return fail('Session not found or revoked');
  sendJson(res, 200, rotate(state, jwt.claims.sid, {}));
}
