import { setTimeout as delay } from 'node:timers/promises';
import { AuthError, RunnerError, ServerError } from '../errors.ts';
import { assertNever } from '../protocol/messages.ts';
import type { DevicePollResult, SibylApi } from './sibylApi.ts';
import type { TokenResponse } from './schemas.ts';

/** What the user needs to approve the login in a browser. */
export interface DeviceCodeInfo {
  userCode: string;
  verificationUri: string;
  verificationUriComplete: string;
  expiresInS: number;
  intervalS: number;
}

export type Sleep = (ms: number, signal?: AbortSignal) => Promise<void>;

export interface DeviceFlowOptions {
  clientName: string;
  /** Omitted ⇒ the server's default (`mcp`), which the runner WebSocket accepts (§4.2 d). */
  scope?: string;
  onCode(info: DeviceCodeInfo): void;
  signal?: AbortSignal;
  /** Injected by tests; must reject when `signal` aborts. */
  sleep?: Sleep;
}

/** RFC 8628 §3.5 asks for +5 s per slow_down (the reference CLI uses 2 s, §2.4.3); 60 s is the server's maximum interval. */
const SLOW_DOWN_STEP_S = 5;
const MAX_INTERVAL_S = 60;

const realSleep: Sleep = async (ms, signal) => {
  await delay(ms, undefined, signal ? { signal } : undefined);
};

const GRACE_MS = 30_000;

/** A failed login names its server, so signing in again goes to the same one. */
const loginFailed = (api: SibylApi, code: string, message: string): AuthError =>
  new AuthError(message, undefined, { code, context: { serverUrl: api.serverUrl } });

const expired = (api: SibylApi): AuthError => loginFailed(api, 'login_expired', 'the login code expired before it was approved');

function cancelled(signal: AbortSignal | undefined, cause?: unknown): RunnerError {
  return new RunnerError('aborted', 'device login cancelled', { cause: cause ?? signal?.reason });
}

/** Device authorization (§2.4): start, show the code, poll until approved, denied or expired. */
export async function runDeviceFlow(api: SibylApi, opts: DeviceFlowOptions): Promise<TokenResponse> {
  const { signal } = opts;
  const sleep = opts.sleep ?? realSleep;
  if (signal?.aborted) throw cancelled(signal);
  const start = await api.startDeviceAuth(
    { client_name: opts.clientName, ...(opts.scope === undefined ? {} : { scope: opts.scope }) },
    signal ? { signal } : undefined,
  );
  opts.onCode({
    userCode: start.user_code,
    verificationUri: start.verification_uri,
    verificationUriComplete: start.verification_uri_complete,
    expiresInS: start.expires_in,
    intervalS: start.interval,
  });
  let intervalS = start.interval;
  const deadline = Date.now() + start.expires_in * 1000;
  for (;;) {
    try {
      await sleep(Math.round(intervalS * 1000), signal);
    } catch (err) {
      throw cancelled(signal, err);
    }
    if (signal?.aborted) throw cancelled(signal);
    let poll: DevicePollResult;
    try {
      poll = await api.pollDeviceToken(start.device_code, signal ? { signal } : undefined);
    } catch (err) {
      // The poll endpoint is rate-limited at 60/minute (§2.4.3): back off as for slow_down.
      if (err instanceof ServerError && err.code === 'rate_limited') {
        intervalS = Math.min(intervalS + SLOW_DOWN_STEP_S, MAX_INTERVAL_S);
        continue;
      }
      throw err;
    }
    switch (poll.kind) {
      case 'tokens':
        return poll.tokens;
      case 'pending':
        break;
      case 'slow_down':
        intervalS = Math.min(intervalS + SLOW_DOWN_STEP_S, MAX_INTERVAL_S);
        break;
      case 'expired':
        throw expired(api);
      case 'denied':
        throw loginFailed(api, 'login_denied', 'the login request was denied in the browser');
      case 'error':
        throw loginFailed(api, 'auth_failed', `device login failed: ${poll.error}${poll.description ? ` (${poll.description})` : ''}`);
      default:
        assertNever(poll);
    }
    // The server reports expiry itself; this only guards against one that never does.
    if (Date.now() > deadline + GRACE_MS) throw expired(api);
  }
}
