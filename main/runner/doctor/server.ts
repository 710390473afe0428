import { HealthResponse } from '../api/schemas.ts';
import { normalizeServerUrl } from '../api/sibylApi.ts';
import { insecureHttpError } from '../config/serverUrl.ts';
import { redactUrl } from '../redact.ts';
import { check, isoTime, REQUEST_TIMEOUT_MS, timeSpan, type DoctorCheck } from './check.ts';

/** Clock skew above this warns: token expiry (§2.1) and heartbeat liveness (§4.4) are judged by two clocks. */
export const CLOCK_SKEW_WARN_MS = 2 * 60 * 1000;

/** What probing `GET /api/health` found: the server and clock checks, and whether the server answered as Sibyl. */
export interface ServerProbe {
  server: DoctorCheck;
  clock: DoctorCheck;
  /** the server answered as a Sibyl server: the token and registration checks may ask it */
  reachable: boolean;
  /** the site root, normalised (§1.1); undefined when there is none to use */
  serverUrl: string | undefined;
}

/** `host:port` of a URL, with the scheme's default port spelt out: people check it against what they started. */
function hostPort(url: URL): string {
  return `${url.hostname}:${url.port || (url.protocol === 'https:' ? '443' : '80')}`;
}

/** The first error `code` in a cause chain (undici: TypeError "fetch failed" → Error { code }, sometimes an AggregateError). */
export function errorCode(err: unknown): string | undefined {
  const seen = new Set<unknown>();
  const queue: unknown[] = [err];
  while (queue.length) {
    const e = queue.shift();
    if (!(e instanceof Error) || seen.has(e)) continue;
    seen.add(e);
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string') return code;
    queue.push(e.cause);
    if (e instanceof AggregateError) queue.push(...(e.errors as unknown[]));
  }
  return undefined;
}

const TLS_CODE = /^(CERT_|ERR_TLS_|ERR_SSL_|DEPTH_ZERO_SELF_SIGNED_CERT$|SELF_SIGNED_CERT_IN_CHAIN$|UNABLE_TO_|HOSTNAME_MISMATCH$|EPROTO$)/;

/**
 * A failed connection in words for people (style.md 13): what happened at which address, and
 * what to look at. `code` is Node's error code (ECONNREFUSED…), undefined when there was none.
 */
export function unreachableWords(code: string | undefined, url: URL): { summary: string; fix: string } {
  const at = hostPort(url);
  const checkAddress = 'check server_url (the site root of Sibyl, e.g. https://sibyl.example.com)';
  switch (code) {
    case 'ECONNREFUSED':
      return { summary: `Nothing is answering at ${at} — is Sibyl running?`, fix: `start the Sibyl server, or ${checkAddress}` };
    case 'ENOTFOUND':
      return { summary: `Can't find ${url.hostname}: no such host`, fix: `${checkAddress}; is the host name spelt right?` };
    case 'EAI_AGAIN':
      return {
        summary: `Can't find ${url.hostname} right now: the name lookup failed`,
        fix: 'check the network and DNS of this machine, then run doctor again',
      };
    case 'ETIMEDOUT':
    case 'UND_ERR_CONNECT_TIMEOUT':
      return { summary: `No connection to ${at}: it timed out`, fix: `a firewall may drop it, or the address is wrong; ${checkAddress}` };
    case 'EHOSTUNREACH':
    case 'ENETUNREACH':
      return { summary: `No route to ${at}`, fix: 'check the network of this machine (VPN, Wi-Fi, proxy)' };
    case 'ECONNRESET':
    case 'UND_ERR_SOCKET':
      return {
        summary: `${at} closed the connection without answering`,
        fix: `is it http:// where the server speaks https:// (or the other way round)? ${checkAddress}`,
      };
    case 'ERR_SSL_WRONG_VERSION_NUMBER':
      return { summary: `${at} does not speak HTTPS`, fix: 'use http:// for a server without TLS, or the HTTPS port' };
    default:
      if (code !== undefined && TLS_CODE.test(code)) {
        return {
          summary: `TLS failed talking to ${at} (${code})`,
          fix: "check the server's certificate; for a private CA, trust it with NODE_EXTRA_CA_CERTS=/path/to/ca.pem",
        };
      }
      return { summary: `Can't reach ${at}${code ? ` (${code})` : ''}`, fix: `check the network, and ${checkAddress}` };
  }
}

function skipped(id: string, title: string, why: string): DoctorCheck {
  return check(id, title, 'skip', why);
}

/**
 * `GET /api/health` (§1.1), with the server's `Date` header for the clock check. Fetched here
 * rather than through SibylApi, which keeps response headers to itself; the body is checked with
 * the same schema. No token is sent. Never throws.
 */
export async function probeServer(
  rawUrl: string,
  opts: { allowInsecureHttp: boolean; configPath: string; signal: AbortSignal; timeoutMs?: number; now?: () => number },
): Promise<ServerProbe> {
  const now = opts.now ?? Date.now;
  const timeoutMs = opts.timeoutMs ?? REQUEST_TIMEOUT_MS;
  const noClock = (why: string): DoctorCheck => skipped('clock', 'clock', why);
  const fail = (summary: string, fix: string, detail = {}): ServerProbe => ({
    server: check('server', 'server', 'fail', summary, { fix, detail }),
    clock: noClock('Not checked: needs an answer from the server'),
    reachable: false,
    serverUrl: undefined,
  });
  if (!rawUrl)
    return fail('No server is configured', `run \`sibyl-runner register --server URL\`, or set server_url in ${opts.configPath}`);
  let serverUrl: string;
  try {
    serverUrl = normalizeServerUrl(rawUrl);
  } catch (err) {
    return fail(err instanceof Error ? err.message : String(err), `set server_url in ${opts.configPath} to the site root of Sibyl`);
  }
  const shown = redactUrl(serverUrl);
  const insecure = insecureHttpError(serverUrl, opts.allowInsecureHttp);
  if (insecure) {
    return fail(
      `${shown} is plain HTTP to another machine: the runner refuses to send its token there unencrypted`,
      `use an https:// address in ${opts.configPath}, or, only on a network you trust, set allow_insecure_http: true there`,
      { serverUrl: shown },
    );
  }
  const url = new URL(`${serverUrl}/api/health`);
  const timeout = AbortSignal.timeout(timeoutMs);
  const sent = now();
  let res: Response;
  let text: string;
  try {
    res = await fetch(url, { headers: { accept: 'application/json' }, signal: AbortSignal.any([timeout, opts.signal]) });
    text = await res.text();
  } catch (err) {
    if (timeout.aborted) {
      return fail(
        `No answer from ${hostPort(url)} within ${timeoutMs / 1000} s`,
        'is the server overloaded, or is this the wrong address? check server_url',
        {
          serverUrl: shown,
        },
      );
    }
    const code = errorCode(err);
    const words = unreachableWords(code, url);
    return fail(words.summary, words.fix, { serverUrl: shown, errorCode: code ?? null });
  }
  const received = now();
  const parsed = res.ok ? parseJson(text) : undefined;
  const health = parsed === undefined ? undefined : HealthResponse.safeParse(parsed);
  if (!health?.success) {
    const type = res.headers.get('content-type')?.split(';')[0] ?? 'no content type';
    return fail(
      `That address is not a Sibyl server: GET ${url.pathname} answered HTTP ${res.status} (${type})`,
      `set server_url in ${opts.configPath} to the site root of Sibyl (without /api), e.g. https://sibyl.example.com`,
      {
        serverUrl: shown,
        httpStatus: res.status,
      },
    );
  }
  const { version, status } = health.data;
  const detail = { serverUrl: shown, version: version ?? null, health: status };
  const server =
    status === 'healthy'
      ? check('server', 'server', 'ok', `Sibyl ${version ?? '(version not given)'} at ${shown}`, { detail })
      : check('server', 'server', 'warn', `Sibyl ${version ?? ''} at ${shown} answers, but says it is "${status}"`, {
          fix: "look at the server's own logs or status page",
          detail,
        });
  return { server, clock: clockCheck(res.headers.get('date'), sent, received), reachable: true, serverUrl };
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}

/**
 * This machine's clock against the server's `Date` header, taken at the middle of the request.
 * `Date` has whole seconds, so the skew is known to about ±1 s plus half the round trip.
 */
export function clockCheck(dateHeader: string | null, sentMs: number, receivedMs: number): DoctorCheck {
  const serverMs = dateHeader ? Date.parse(dateHeader) : NaN;
  if (!Number.isFinite(serverMs)) return skipped('clock', 'clock', 'Not checked: the server sent no Date header');
  const skewMs = Math.round(serverMs - (sentMs + receivedMs) / 2);
  const detail = { serverTime: isoTime(serverMs), skewMs };
  if (Math.abs(skewMs) <= CLOCK_SKEW_WARN_MS) {
    return check('clock', 'clock', 'ok', `In step with the server (within ${timeSpan(CLOCK_SKEW_WARN_MS / 1000)})`, { detail });
  }
  const way = skewMs > 0 ? 'behind' : 'ahead of';
  return check('clock', 'clock', 'warn', `This machine's clock is ${timeSpan(Math.abs(skewMs) / 1000)} ${way} the server's`, {
    fix: 'turn on automatic time (NTP: `timedatectl set-ntp true` on Linux, Date & Time settings on macOS and Windows): token expiry and heartbeats are judged by the clock',
    detail,
  });
}
