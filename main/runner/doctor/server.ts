import { HealthResponse } from '../api/schemas.ts';
import {
  errorCode,
  notSibylWords,
  timeoutWords,
  unreachableWords as sharedUnreachableWords,
  type NetworkWords,
} from '../api/networkError.ts';
import { normalizeServerUrl } from '../api/sibylApi.ts';
import { HttpAnswerError, httpRequest, type HttpAnswer } from '../api/httpRequest.ts';
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

/** How doctor names the address to check: the key in runner.yaml. */
const CHECK_SERVER_URL = 'check server_url (the site root of Sibyl, e.g. https://sibyl.example.com)';

/** A failed connection in the shared words (api/networkError.ts), its fix naming server_url. */
export function unreachableWords(code: string | undefined, url: URL): NetworkWords {
  return sharedUnreachableWords(code, url, { checkAddress: CHECK_SERVER_URL });
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
  let res: HttpAnswer;
  try {
    res = await httpRequest(url, {
      method: 'GET',
      headers: { accept: 'application/json' },
      signal: AbortSignal.any([timeout, opts.signal]),
    });
  } catch (err) {
    if (timeout.aborted) {
      const words = timeoutWords(url, timeoutMs / 1000, { checkAddress: 'check server_url' });
      return fail(words.summary, words.fix, { serverUrl: shown });
    }
    if (err instanceof HttpAnswerError) {
      return fail(
        `${shown} is not a Sibyl server: GET /api/health: ${err.message}`,
        `set server_url in ${opts.configPath} to the site root of Sibyl`,
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
  const parsed = res.status >= 200 && res.status < 300 ? parseJson(res.text) : undefined;
  const health = parsed === undefined ? undefined : HealthResponse.safeParse(parsed);
  if (!health?.success) {
    const words = notSibylWords('GET', url.pathname, res.status, res.headers.get('content-type'), {
      checkAddress: `set server_url in ${opts.configPath} to the site root of Sibyl (without /api), e.g. https://sibyl.example.com`,
    });
    return fail(words.summary, words.fix, { serverUrl: shown, httpStatus: res.status });
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
