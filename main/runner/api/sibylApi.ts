import type * as z from 'zod';
import { requireSecureTransport } from '../config/serverUrl.ts';
import { AuthError, ConfigError, RunnerError, ServerError, type Remedy } from '../errors.ts';
import { logger } from '../logger.ts';
import { HttpAnswerError, httpRequest, type HttpAnswer } from './httpRequest.ts';
import { errorCode, isTlsCode, notSibylWords, timeoutWords, unreachableWords } from './networkError.ts';
import {
  DeviceGrantType,
  DeviceStartRequest,
  DeviceStartResponse,
  DeviceTokenError,
  DeleteRunnerResponse,
  DeviceTokenRequest,
  ErrorBody,
  HealthResponse,
  MeResponse,
  PatchRunnerRequest,
  RateLimitBody,
  RefreshRequest,
  RegisterRequest,
  RunnerResponse,
  TokenResponse,
  Uuid,
} from './schemas.ts';

const log = logger('api');

export interface CallOptions {
  signal?: AbortSignal;
}

/** One device-flow poll (§2.4.3), as data: only transport and protocol failures throw. */
export type DevicePollResult =
  | { kind: 'tokens'; tokens: TokenResponse }
  | { kind: 'pending' }
  | { kind: 'slow_down' }
  | { kind: 'expired' }
  | { kind: 'denied' }
  | { kind: 'error'; error: string; description: string | undefined };

type Method = 'GET' | 'POST' | 'PATCH' | 'DELETE';

interface Exchange {
  method: Method;
  url: string;
  status: number;
  headers: HttpAnswer['headers'];
  json: unknown;
  text: string;
}

/**
 * Why `raw` is not a server address — the site root, `https://host[:port][/prefix]` (§1.1) — in
 * words that runner.yaml, the environment, `--server` and the window share; undefined when it is one.
 */
export function serverUrlProblem(raw: string): string | undefined {
  let url: URL | undefined;
  try {
    url = new URL(raw.trim());
  } catch {
    url = undefined;
  }
  if (!url || (url.protocol !== 'http:' && url.protocol !== 'https:') || !url.host)
    return `${JSON.stringify(raw)} is not an http(s) URL of a Sibyl site root (e.g. https://sibyl.example.com)`;
  if (/\/api\/*$/.test(url.pathname)) return `${JSON.stringify(raw)} ends in /api: use the site root, without the trailing /api`;
  return undefined;
}

/**
 * `server_url` is the site root (§1.1): `https://host[:port][/prefix]`, without a trailing `/`.
 * `source` names where the value came from ("--server", "environment variable SIBYL_SERVER_URL").
 */
export function normalizeServerUrl(raw: string, source?: string): string {
  const problem = serverUrlProblem(raw);
  if (problem) throw new ConfigError(source ? `${source}: ${problem}` : problem);
  const url = new URL(raw.trim());
  return `${url.origin}${url.pathname}`.replace(/\/+$/, '');
}

/** The runner WebSocket URL exactly as §1.1 derives it; `runnerId` is the registration's UUID `id`. */
export function wsUrlFor(serverUrl: string, runnerId: string): string {
  const root = serverUrl.trim().replace(/\/+$/, '');
  return `${root.replace(/^https:\/\//i, 'wss://').replace(/^http:\/\//i, 'ws://')}/api/runners/ws/${runnerId}`;
}

/** `body.name: Field required; body.max_concurrent_agents: Input should be ...`, or the plain detail. */
export function renderDetail(body: unknown): string | undefined {
  const parsed = ErrorBody.safeParse(body);
  if (!parsed.success) return undefined;
  const { detail } = parsed.data;
  if (typeof detail === 'string') return detail;
  return detail.map((i) => `${i.loc.join('.')}: ${i.msg}`).join('; ');
}

function local<S extends z.ZodType>(schema: S, value: unknown, what: string): z.output<S> {
  const parsed = schema.safeParse(value);
  if (parsed.success) return parsed.data;
  const issues = parsed.error.issues.map((i) => `${i.path.join('.') || '(value)'}: ${i.message}`).join('; ');
  throw new ConfigError(`invalid ${what}: ${issues}`);
}

/**
 * A 4xx the server explained in its own words ("Organization not found"): the reason is the news,
 * and the address is right, so the remedy is not `checkServer` as errors.ts derives from the code.
 */
class ServerRefusal extends ServerError {
  override readonly remedy: Remedy = 'none';
}

/** FastAPI's own details for a route or method the server does not have: the address is wrong, not the request. */
const NO_ROUTE_DETAILS: ReadonlySet<string | undefined> = new Set(['Not Found', 'Method Not Allowed']);

/**
 * A client for Sibyl Core's REST API over global `fetch`; every response is validated. Plain
 * `http://` to a host that is not this machine throws InsecureHttpError (config/serverUrl.ts)
 * unless `allowInsecureHttp` (runner.yaml `allow_insecure_http`), which logs a warning instead.
 */
export class SibylApi {
  readonly serverUrl: string;
  readonly timeoutMs: number;

  constructor(serverUrl: string, opts: { timeoutMs?: number; allowInsecureHttp?: boolean } = {}) {
    this.serverUrl = normalizeServerUrl(serverUrl);
    // At construction, before any request can carry a token or a refresh token in its body.
    requireSecureTransport(this.serverUrl, { allowInsecureHttp: opts.allowInsecureHttp ?? false });
    this.timeoutMs = opts.timeoutMs ?? 30_000;
  }

  async health(opts?: CallOptions): Promise<HealthResponse> {
    return this.expect(await this.exchange('GET', '/health', undefined, undefined, opts), HealthResponse);
  }

  async register(token: string, req: RegisterRequest, opts?: CallOptions): Promise<RunnerResponse> {
    const body = local(RegisterRequest, req, 'runner registration');
    return this.expect(await this.exchange('POST', '/runners/register', token, body, opts), RunnerResponse);
  }

  async getRunner(token: string, id: string, opts?: CallOptions): Promise<RunnerResponse> {
    local(Uuid, id, 'runner id');
    return this.expect(await this.exchange('GET', `/runners/${id}`, token, undefined, opts), RunnerResponse);
  }

  async patchRunner(token: string, id: string, patch: PatchRunnerRequest, opts?: CallOptions): Promise<RunnerResponse> {
    local(Uuid, id, 'runner id');
    const body = local(PatchRunnerRequest, patch, 'runner update');
    return this.expect(await this.exchange('PATCH', `/runners/${id}`, token, body, opts), RunnerResponse);
  }

  /**
   * `DELETE /api/runners/{id}` (§3.6): the runner must be offline on the server, else HTTP 400
   * (raised as a refusal with the server's words); 404 when it is already gone.
   */
  async deleteRunner(token: string, id: string, opts?: CallOptions): Promise<DeleteRunnerResponse> {
    local(Uuid, id, 'runner id');
    return this.expect(await this.exchange('DELETE', `/runners/${id}`, token, undefined, opts), DeleteRunnerResponse);
  }

  async me(token: string, opts?: CallOptions): Promise<MeResponse> {
    return this.expect(await this.exchange('GET', '/auth/me', token, undefined, opts), MeResponse);
  }

  async startDeviceAuth(req: DeviceStartRequest, opts?: CallOptions): Promise<DeviceStartResponse> {
    const body = local(DeviceStartRequest, req, 'device login request');
    return this.expect(await this.exchange('POST', '/auth/device', undefined, body, opts), DeviceStartResponse);
  }

  async pollDeviceToken(deviceCode: string, opts?: CallOptions): Promise<DevicePollResult> {
    const body = local(DeviceTokenRequest, { device_code: deviceCode, grant_type: DeviceGrantType }, 'device code');
    const res = await this.exchange('POST', '/auth/device/token', undefined, body, opts);
    if (res.status !== 400) return { kind: 'tokens', tokens: this.expect(res, TokenResponse) };
    const err = DeviceTokenError.safeParse(res.json);
    if (!err.success) throw this.notSibyl(res);
    switch (err.data.error) {
      case 'authorization_pending':
        return { kind: 'pending' };
      case 'slow_down':
        return { kind: 'slow_down' };
      case 'expired_token':
        return { kind: 'expired' };
      case 'access_denied':
        return { kind: 'denied' };
      default:
        return { kind: 'error', error: err.data.error, description: err.data.error_description };
    }
  }

  /** Rotates: the refresh token passed in is dead once this returns (§2.6). */
  async refresh(refreshToken: string, opts?: CallOptions): Promise<TokenResponse> {
    const body = local(RefreshRequest, { refresh_token: refreshToken }, 'refresh token');
    return this.expect(await this.exchange('POST', '/auth/refresh', undefined, body, opts), TokenResponse);
  }

  private async exchange(method: Method, path: string, token: string | undefined, body: unknown, opts?: CallOptions): Promise<Exchange> {
    const url = `${this.serverUrl}/api${path}`;
    const headers: Record<string, string> = { accept: 'application/json' };
    if (token !== undefined) headers.authorization = `Bearer ${token}`;
    if (body !== undefined) headers['content-type'] = 'application/json';
    const timeout = AbortSignal.timeout(this.timeoutMs);
    const signal = opts?.signal ? AbortSignal.any([timeout, opts.signal]) : timeout;
    const started = performance.now();
    try {
      const res = await httpRequest(url, { method, headers, signal, body: body === undefined ? undefined : JSON.stringify(body) });
      const { text } = res;
      let json: unknown;
      try {
        json = JSON.parse(text);
      } catch {
        json = undefined;
      }
      log.debug('http', { method, url, status: res.status, ms: Math.round(performance.now() - started) });
      return { method, url, status: res.status, headers: res.headers, json, text };
    } catch (err) {
      if (opts?.signal?.aborted) throw new RunnerError('aborted', `${method} ${url} was cancelled`, { cause: err });
      const where = new URL(url);
      if (timeout.aborted) {
        const words = timeoutWords(where, this.timeoutMs / 1000);
        throw this.serverError('timeout', words.summary, url, undefined, err);
      }
      if (err instanceof HttpAnswerError) {
        throw this.serverError(
          'bad_response',
          `That address is not a Sibyl server: ${method} ${where.pathname}: ${err.message}`,
          url,
          undefined,
          err,
        );
      }
      // One wording for every face (networkError.ts); Node's code stays in the context for Details and logs.
      const code = errorCode(err);
      const words = unreachableWords(code, where);
      const failure = isTlsCode(code)
        ? this.serverError('tls', `${words.summary}; ${words.fix}`, url, undefined, err)
        : this.serverError('network', words.summary, url, undefined, err);
      if (code !== undefined) failure.context.errorCode = code;
      throw failure;
    }
  }

  private expect<S extends z.ZodType>(res: Exchange, schema: S): z.output<S> {
    if (res.status < 200 || res.status >= 300) throw this.failure(res);
    if (res.json === undefined) throw this.notSibyl(res);
    const parsed = schema.safeParse(res.json);
    if (!parsed.success) throw this.notSibyl(res, parsed.error.issues[0]);
    return parsed.data;
  }

  /** errors.ts keeps the endpoint's URL; the faces' advice names the server, so the site root goes into the context too. */
  private serverError(code: string, message: string, url: string, status?: number, cause?: unknown): ServerError {
    const err = new ServerError(code, message, url, status, cause);
    err.context.serverUrl = this.serverUrl;
    return err;
  }

  /**
   * An answer that is not Sibyl's (a web page, another API, a method it does not implement): said as
   * that (networkError.ts), with the schema's complaint or the body's start kept in the context.
   */
  private notSibyl(res: Exchange, issue?: z.core.$ZodIssue, code = 'bad_response'): ServerError {
    const why = issue ? `${issue.path.join('.') || '(body)'}: ${issue.message}` : `body starts ${JSON.stringify(res.text.slice(0, 60))}`;
    const words = notSibylWords(res.method, new URL(res.url).pathname, res.status, res.headers.get('content-type'));
    const err = this.serverError(code, `${words.summary}; ${words.fix}`, res.url, res.status);
    err.context.detail = why;
    return err;
  }

  private failure(res: Exchange): RunnerError {
    const { status, url } = res;
    const detail = renderDetail(res.json);
    const where = `${res.method} ${url}`;
    if (status === 401 || status === 403) {
      const why = detail ?? `HTTP ${status}`;
      const context = { serverUrl: this.serverUrl, url };
      // A refused refresh token means the session is gone (rotated elsewhere or revoked, §2.6).
      if (url.endsWith('/api/auth/refresh'))
        return new AuthError(`authentication failed: the server refused the refresh token (${why})`, status, { context });
      return new AuthError(`the server rejected the token (${why})`, status, { context });
    }
    if (status === 422) {
      return this.serverError('validation', `${where}: the server refused the request: ${detail ?? res.text.slice(0, 200)}`, url, status);
    }
    if (status === 429) {
      const limit = RateLimitBody.safeParse(res.json);
      const after = res.headers.get('retry-after');
      const msg = `${where}: rate-limited by the server (${limit.success ? limit.data.error : 'HTTP 429'}); retry ${after ? `in ${after} s` : 'in a minute'}`;
      return this.serverError('rate_limited', msg, url, status);
    }
    // FastAPI answers an unknown method with 405; 501 and 505 come from another kind of server.
    if (status === 501 || status === 505) return this.notSibyl(res);
    if (status >= 500) {
      const ref = /\(ref: ([0-9a-f]+)\)/i.exec(detail ?? '')?.[1];
      return this.serverError('server_error', `${where}: server error (HTTP ${status}${ref ? `, ref: ${ref}` : ''})`, url, status);
    }
    if ((status === 404 || status === 405) && detail === undefined) return this.notSibyl(res, undefined, 'not_found');
    if ((status === 404 || status === 405) && NO_ROUTE_DETAILS.has(detail)) {
      return this.serverError(
        'not_found',
        `That server has no ${res.method} ${new URL(url).pathname} (HTTP ${status}); is ${this.serverUrl} the site root of a Sibyl server with runners enabled?`,
        url,
        status,
      );
    }
    if (detail === undefined) return this.notSibyl(res);
    const refusal = new ServerRefusal(status === 404 ? 'not_found' : 'http_error', `${where}: ${detail} (HTTP ${status})`, url, status);
    refusal.context.serverUrl = this.serverUrl;
    return refusal;
  }
}
