import { normalizeServerUrl, type SibylApi } from '../api/sibylApi.ts';
import { decodeJwtExp, TokenProvider } from '../api/tokens.ts';
import type { CredentialStore, Credentials } from '../config/credentials.ts';
import type { RunnerConfig } from '../config/schema.ts';
import { AuthError } from '../errors.ts';
import { redactUrl } from '../redact.ts';
import { check, isoTime, timeSpan, type DoctorCheck } from './check.ts';

/**
 * The sign-in check's first half: which token the runner would use, and whether it is worth
 * sending (account.ts asks the server with it).
 */

/** Refresh this long before expiry, as TokenProvider does (tokens.ts): a token this close counts as expired here too. */
const NEAR_EXPIRY_S = 60;

export interface AccountInput {
  config: RunnerConfig;
  configPath: string;
  env: Record<string, string | undefined>;
  credentials: CredentialStore;
  /** a live daemon holds the state lock: its login is left alone (no renewal here, see `prepareToken`) */
  daemonRunning: boolean;
  timeoutMs?: number;
  now?: () => number;
}

export const TOKEN_TITLE = 'sign-in';
const TITLE = TOKEN_TITLE;

/** The CLI command that signs in to `serverUrl`. */
export function signIn(serverUrl: string | undefined): string {
  return `run \`sibyl-runner login${serverUrl ? ` --server ${redactUrl(serverUrl)}` : ''}\``;
}

/** An error's message, for a finding. */
export function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

function sameServer(a: string, b: string): boolean {
  try {
    return normalizeServerUrl(a) === normalizeServerUrl(b);
  } catch {
    return false;
  }
}

/**
 * Where the runner's token comes from, in authSourceFor's order (auth/authSource.ts, §5.3):
 * runner_token, then access_token (each from the environment or runner.yaml), then the stored login
 * (its runner token first, as TokenProvider hands it out).
 */
export type Source =
  | { kind: 'given'; token: string; label: string; fix: string }
  | { kind: 'login'; creds: Credentials }
  | { kind: 'none' }
  | { kind: 'broken'; check: DoctorCheck };

/** What a token check settles before asking the server: the token to ask with, or the answer already. */
export type Ready =
  | { token: string; source: Source & { kind: 'given' | 'login' }; expiresAt: number | undefined; verdict?: DoctorCheck }
  | { verdict: DoctorCheck };

/** The token the runner would use (authSourceFor's order, see Source), or why it has none. */
export async function tokenSource(input: AccountInput, serverUrl: string | undefined): Promise<Source> {
  const { config, env, configPath } = input;
  if (config.runner_token) {
    const fromEnv = Boolean(env.SIBYL_RUNNER_TOKEN);
    return {
      kind: 'given',
      token: config.runner_token,
      label: fromEnv ? 'SIBYL_RUNNER_TOKEN' : `runner_token in ${configPath}`,
      fix: fromEnv ? 'set a valid runner token in SIBYL_RUNNER_TOKEN' : `replace or remove runner_token in ${configPath}`,
    };
  }
  if (config.access_token) {
    const fromEnv = Boolean(env.SIBYL_ACCESS_TOKEN);
    return {
      kind: 'given',
      token: config.access_token,
      label: fromEnv ? 'SIBYL_ACCESS_TOKEN' : `access_token in ${configPath}`,
      fix: fromEnv
        ? `set a valid token in SIBYL_ACCESS_TOKEN, or unset it and ${signIn(serverUrl)}`
        : `replace or remove access_token in ${configPath} (a stored login is used without it)`,
    };
  }
  let creds: Credentials;
  try {
    creds = await input.credentials.load();
  } catch (err) {
    const why = err instanceof Error ? err.message : String(err);
    return { kind: 'broken', check: check('token', TITLE, 'fail', `The stored login cannot be read: ${why}`, { fix: signIn(serverUrl) }) };
  }
  if (creds.server_url !== undefined && serverUrl !== undefined && !sameServer(creds.server_url, serverUrl)) {
    return {
      kind: 'broken',
      check: check('token', TITLE, 'fail', `The stored login is for ${redactUrl(creds.server_url)}, not ${redactUrl(serverUrl)}`, {
        fix: signIn(serverUrl),
      }),
    };
  }
  if (creds.runner_token) {
    return {
      kind: 'given',
      token: creds.runner_token,
      label: `the runner token in ${input.credentials.describe()}`,
      fix: `remove runner_token from the stored credentials (${input.credentials.describe()}), then ${signIn(serverUrl)}`,
    };
  }
  if (creds.access_token || creds.refresh_token) return { kind: 'login', creds };
  return { kind: 'none' };
}

/**
 * The token to ask the server with, or why there is none. A stored login whose access token has
 * run out is renewed as the daemon would (TokenProvider saves the rotated pair, §2.6) — unless a
 * daemon is running: two processes renewing one refresh token at once would leave one of them
 * signed out, and a connected daemon only needs a new token at its next connection anyway.
 */
export async function prepareToken(
  source: Source,
  input: AccountInput,
  api: SibylApi | undefined,
  serverUrl: string | undefined,
): Promise<Ready> {
  const nowS = (input.now ?? Date.now)() / 1000;
  if (source.kind === 'broken') return { verdict: source.check };
  if (source.kind === 'none') {
    return {
      verdict: check('token', TITLE, 'fail', 'Signed out: no token in the environment or runner.yaml, and no stored login', {
        fix: signIn(serverUrl),
      }),
    };
  }
  if (source.kind === 'given') {
    const expiresAt = decodeJwtExp(source.token);
    if (source.token.startsWith('sk_')) {
      return {
        token: source.token,
        source,
        expiresAt,
        verdict: check(
          'token',
          TITLE,
          'fail',
          `${source.label} holds an API key: the server takes those for REST, but not for the runner's connection`,
          {
            fix: `${signIn(serverUrl)} and use that sign-in instead (${source.fix})`,
            detail: { source: source.label },
          },
        ),
      };
    }
    if (expiresAt !== undefined && expiresAt <= nowS) {
      return {
        verdict: check('token', TITLE, 'fail', `The token from ${source.label} expired ${timeSpan(nowS - expiresAt)} ago`, {
          fix: source.fix,
          detail: { source: source.label, expiresAt: isoTime(expiresAt * 1000) },
        }),
      };
    }
    return { token: source.token, source, expiresAt };
  }
  const { creds } = source;
  const exp = creds.access_token_expires_at ?? (creds.access_token ? decodeJwtExp(creds.access_token) : undefined);
  if (creds.access_token && (exp === undefined || exp - nowS > NEAR_EXPIRY_S)) return { token: creds.access_token, source, expiresAt: exp };
  if (!creds.refresh_token) {
    return {
      verdict: check(
        'token',
        TITLE,
        'fail',
        `The stored sign-in expired${exp !== undefined ? ` ${timeSpan(nowS - exp)} ago` : ''} and cannot be renewed`,
        {
          fix: signIn(serverUrl),
        },
      ),
    };
  }
  if (input.daemonRunning) {
    return {
      verdict: check(
        'token',
        TITLE,
        'skip',
        'Not checked: the stored access token is renewed by the running daemon at its next connection, not here',
        {
          detail: { source: 'stored login' },
        },
      ),
    };
  }
  if (!api) return { verdict: check('token', TITLE, 'skip', 'Not checked: needs a usable server address') };
  try {
    const token = await new TokenProvider(input.credentials, api).accessToken();
    return { token, source, expiresAt: decodeJwtExp(token) };
  } catch (err) {
    if (err instanceof AuthError) {
      return { verdict: check('token', TITLE, 'fail', `The stored sign-in was refused: ${err.message}`, { fix: signIn(serverUrl) }) };
    }
    throw err;
  }
}
