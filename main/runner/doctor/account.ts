import type { MeResponse } from '../api/schemas.ts';
import { normalizeServerUrl, SibylApi } from '../api/sibylApi.ts';
import { decodeJwtExp } from '../api/tokens.ts';
import { AuthError } from '../errors.ts';
import { redactUrl } from '../redact.ts';
import { check, isoTime, REQUEST_TIMEOUT_MS, timeSpan, type DoctorCheck } from './check.ts';
import { checkRegistration } from './registration.ts';
import type { ServerProbe } from './server.ts';
import { errorText, prepareToken, signIn, TOKEN_TITLE as TITLE, tokenSource, type AccountInput, type Ready } from './tokenSource.ts';

/**
 * The sign-in check's second half (who the token signs in as, `GET /api/auth/me`) and the
 * orchestration of sign-in and registration around the server's health answer.
 */

/** A token that is not renewed (a given one) warns when it expires within this many seconds. */
export const TOKEN_EXPIRY_WARN_S = 24 * 3600;

export interface AccountChecks {
  token: DoctorCheck;
  registration: DoctorCheck;
}

/** How long the sign-in lasts, in words, and whether that is soon enough to warn about. */
function expiryWords(r: Extract<Ready, { token: string }>, nowS: number): { words: string; soon: boolean } {
  if (r.source.kind === 'login' && r.source.creds.refresh_token) {
    // The access token lives an hour; the refresh token is what ends a login (sliding, §2.1).
    const refreshExp = decodeJwtExp(r.source.creds.refresh_token);
    if (refreshExp === undefined) return { words: 'the stored sign-in is renewed as the runner uses it', soon: false };
    return { words: `the stored sign-in lasts ${timeSpan(refreshExp - nowS)} more, and each renewal extends it`, soon: false };
  }
  const label = r.source.kind === 'login' ? 'the stored token' : `the token from ${r.source.label}`;
  if (r.expiresAt === undefined) return { words: `${label} does not say when it expires`, soon: false };
  const left = r.expiresAt - nowS;
  return { words: `${label} expires in ${timeSpan(left)}`, soon: left < TOKEN_EXPIRY_WARN_S };
}

/** The token check from `me` (§2.8): who it signs in as, in which organization, and until when. */
function tokenVerdict(r: Extract<Ready, { token: string }>, me: MeResponse, serverUrl: string | undefined, nowS: number): DoctorCheck {
  const who = me.user.email ?? me.user.name ?? me.user.id;
  const source = r.source.kind === 'login' ? 'stored login' : r.source.label;
  const detail = {
    source,
    user: who,
    organization: me.organization?.name ?? null,
    role: me.org_role,
    expiresAt: r.expiresAt === undefined ? null : isoTime(r.expiresAt * 1000),
  };
  const fix = r.source.kind === 'given' ? r.source.fix : signIn(serverUrl);
  // Every runner route and the runner socket need an organization and a role above viewer (§2.12, §3).
  if (!me.organization) {
    return check('token', TITLE, 'fail', `Signed in as ${who}, but the token carries no organization: the runner routes refuse it`, {
      fix: `${signIn(serverUrl)} and pick an organization`,
      detail,
    });
  }
  if (me.org_role === 'viewer') {
    return check('token', TITLE, 'fail', `Signed in as ${who}, a viewer in ${me.organization.name}: viewers cannot run runners`, {
      fix: `ask an owner or admin of ${me.organization.name} to make you a member`,
      detail,
    });
  }
  const { words, soon } = expiryWords(r, nowS);
  const summary = `Signed in as ${who} in ${me.organization.name}${me.org_role ? ` (${me.org_role})` : ''}; ${words}`;
  if (soon) return check('token', TITLE, 'warn', summary, { fix: `before then, ${fix}`, detail });
  return check('token', TITLE, 'ok', summary, { detail });
}

/** Asks `GET /api/auth/me` with the token; AuthError means the server refused it. */
async function askMe(
  api: SibylApi,
  r: Extract<Ready, { token: string }>,
  input: AccountInput,
  serverUrl: string | undefined,
  signal: AbortSignal,
): Promise<DoctorCheck> {
  const nowS = (input.now ?? Date.now)() / 1000;
  try {
    const me = await api.me(r.token, { signal });
    return r.verdict ?? tokenVerdict(r, me, serverUrl, nowS);
  } catch (err) {
    const label = r.source.kind === 'login' ? 'the stored login' : r.source.label;
    if (err instanceof AuthError) {
      return check('token', TITLE, 'fail', `The server refused the token from ${label}${err.status ? ` (HTTP ${err.status})` : ''}`, {
        fix: r.source.kind === 'given' ? r.source.fix : signIn(serverUrl),
        detail: { source: label, httpStatus: err.status ?? null, serverMessage: err.message },
      });
    }
    return r.verdict ?? check('token', TITLE, 'fail', `Could not check the token: ${errorText(err)}`, { detail: { source: label } });
  }
}

/**
 * The sign-in and registration checks. The token is prepared while `server` (the health probe)
 * runs, then `me` and the runner lookup go out together: the whole takes at most two requests'
 * time. Without an answer from the server, what can only be learnt from it is skipped.
 */
export async function probeAccount(input: AccountInput, server: Promise<ServerProbe>, signal: AbortSignal): Promise<AccountChecks> {
  const rawUrl = input.config.server_url;
  let serverUrl: string | undefined;
  let api: SibylApi | undefined;
  try {
    serverUrl = rawUrl ? normalizeServerUrl(rawUrl) : undefined;
    api = serverUrl
      ? new SibylApi(serverUrl, { timeoutMs: input.timeoutMs ?? REQUEST_TIMEOUT_MS, allowInsecureHttp: input.config.allow_insecure_http })
      : undefined;
  } catch {
    api = undefined; // the server check says what is wrong with the address
  }
  const unregistered = input.config.runner_id
    ? undefined
    : check('registration', 'registration', 'fail', 'This machine is not registered (no runner_id)', {
        fix: `run \`sibyl-runner register --server ${serverUrl ? redactUrl(serverUrl) : 'URL'}\``,
      });
  const [probe, prepared] = await Promise.all([
    server,
    tokenSource(input, serverUrl).then((source) =>
      prepareToken(source, input, api, serverUrl).catch((err: unknown): Ready => ({
        verdict: check('token', TITLE, 'fail', `Could not renew the stored sign-in: ${errorText(err)}`, { fix: signIn(serverUrl) }),
      })),
    ),
  ]);
  const needsServer = (id: string, title: string): DoctorCheck => check(id, title, 'skip', 'Not checked: needs an answer from the server');
  if (!probe.reachable || !api || !serverUrl) {
    // What is known without the server still counts: signed out, expired, an API key.
    const token = prepared.verdict ?? needsServer('token', TITLE);
    return { token, registration: unregistered ?? needsServer('registration', 'registration') };
  }
  if (!('token' in prepared)) {
    return {
      token: prepared.verdict,
      registration: unregistered ?? check('registration', 'registration', 'skip', 'Not checked: needs a valid token'),
    };
  }
  const [token, registration] = await Promise.all([
    askMe(api, prepared, input, serverUrl, signal),
    unregistered ?? checkRegistration(api, prepared.token, input, serverUrl, signal),
  ]);
  return { token, registration };
}
