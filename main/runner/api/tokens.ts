import { AuthError, ConfigError } from '../errors.ts';
import { logger } from '../logger.ts';
import type { CredentialStore, Credentials } from '../config/credentials.ts';
import { normalizeServerUrl, type SibylApi } from './sibylApi.ts';
import type { MeResponse, TokenResponse } from './schemas.ts';

const log = logger('tokens');

/** Refresh this long before `exp`, as the CLI does (§2.11, §10.1). */
const REFRESH_MARGIN_S = 60;

/** The `exp` claim (unix seconds) of a JWT, read without verifying it (§2.1: clients never verify). */
export function decodeJwtExp(token: string): number | undefined {
  const payload = token.split('.')[1];
  if (!payload) return undefined;
  try {
    const claims: unknown = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8'));
    const exp = claims !== null && typeof claims === 'object' ? (claims as { exp?: unknown }).exp : undefined;
    return typeof exp === 'number' && Number.isFinite(exp) ? exp : undefined;
  } catch {
    return undefined;
  }
}

function sameServer(a: string, b: string): boolean {
  try {
    return normalizeServerUrl(a) === normalizeServerUrl(b);
  } catch {
    return false;
  }
}

/** Store a fresh login for `serverUrl` (the site root, as `SibylApi.serverUrl`); a runner token for another server is dropped. */
export async function saveLogin(
  store: CredentialStore,
  tokens: Pick<TokenResponse, 'access_token' | 'refresh_token' | 'expires_in'>,
  serverUrl: string,
  nowMs: number = Date.now(),
): Promise<Credentials> {
  let existing: Credentials = {};
  try {
    existing = await store.load();
  } catch (err) {
    // Logging in is how a user repairs a damaged credentials file, so it must not be blocked by it.
    if (!(err instanceof ConfigError)) throw err;
    log.warn('replacing unreadable credentials', { store: store.describe(), error: err });
  }
  const creds: Credentials = {
    access_token: tokens.access_token,
    refresh_token: tokens.refresh_token,
    access_token_expires_at: Math.floor(nowMs / 1000) + tokens.expires_in,
    server_url: serverUrl,
  };
  if (existing.runner_token && existing.server_url === serverUrl) creds.runner_token = existing.runner_token;
  await store.save(creds);
  return creds;
}

/**
 * Hands out a usable bearer token: an injected runner token as is, otherwise the user's access
 * token, refreshed when close to expiry. Refresh tokens rotate (§2.6), so the new pair is saved
 * before anyone gets to use it, and concurrent callers share one refresh.
 */
export class TokenProvider {
  private readonly store: CredentialStore;
  private readonly api: SibylApi;
  private readonly now: () => number;
  private inflight: Promise<string> | undefined;
  /** Completed refreshes; lets a reader notice that its snapshot went stale while it was loading. */
  private refreshes = 0;

  constructor(store: CredentialStore, api: SibylApi, opts: { now?: () => number } = {}) {
    this.store = store;
    this.api = api;
    this.now = opts.now ?? Date.now;
  }

  async accessToken(): Promise<string> {
    const seen = this.refreshes;
    const creds = await this.load();
    if (creds.runner_token) return creds.runner_token;
    if (!creds.access_token) {
      if (creds.refresh_token) return this.refreshNow();
      throw this.#signIn('not logged in');
    }
    const exp = creds.access_token_expires_at ?? decodeJwtExp(creds.access_token);
    const nowS = this.now() / 1000;
    if (exp === undefined || exp - nowS > REFRESH_MARGIN_S) return creds.access_token;
    if (!creds.refresh_token) {
      if (exp > nowS) return creds.access_token;
      throw this.#signIn('the access token has expired and there is no refresh token');
    }
    if (this.refreshes !== seen) return this.accessToken();
    try {
      return await this.refreshNow();
    } catch (err) {
      // A network blip must not stop us using a token that is still valid for a few seconds.
      if (!(err instanceof AuthError) && exp > nowS + 5) {
        log.warn('proactive token refresh failed; using the current token', { error: err });
        return creds.access_token;
      }
      throw err;
    }
  }

  /** Forces one refresh (e.g. after the WebSocket closed with 1008); joins a refresh already running. */
  refreshNow(): Promise<string> {
    this.inflight ??= this.refreshOnce().finally(() => {
      this.inflight = undefined;
    });
    return this.inflight;
  }

  /** Signing in to this server fixes it: the faces word that (CLI command, window button). */
  #signIn(message: string): AuthError {
    return new AuthError(message, undefined, { context: { serverUrl: this.api.serverUrl } });
  }

  /** Credentials saved for another server must never be sent to this one. */
  private async load(): Promise<Credentials> {
    const creds = await this.store.load();
    if (creds.server_url !== undefined && !sameServer(creds.server_url, this.api.serverUrl)) {
      throw this.#signIn(`the stored login is for ${creds.server_url}, not ${this.api.serverUrl}`);
    }
    return creds;
  }

  private async refreshOnce(): Promise<string> {
    const creds = await this.load();
    if (creds.runner_token) {
      throw this.#signIn('the server rejected the configured runner token, which cannot be refreshed; replace it or remove it');
    }
    if (!creds.refresh_token) throw this.#signIn('authentication failed: no refresh token is stored');
    let tokens: TokenResponse;
    try {
      tokens = await this.api.refresh(creds.refresh_token);
    } catch (err) {
      if (err instanceof AuthError) throw err;
      if (err instanceof ConfigError) throw this.#signIn('authentication failed: the stored refresh token is malformed');
      throw err;
    }
    await this.store.save({
      ...creds,
      access_token: tokens.access_token,
      refresh_token: tokens.refresh_token,
      access_token_expires_at: Math.floor(this.now() / 1000) + tokens.expires_in,
    });
    this.refreshes++;
    log.info('access token refreshed', { expiresInS: tokens.expires_in });
    return tokens.access_token;
  }
}

/** Check a pasted access token (or API key) against the server, then store it. Returns who it signs in as. */
export async function storeToken(store: CredentialStore, api: SibylApi, token: string): Promise<string> {
  const me = await storeCheckedToken(store, api, token);
  return me.user.email ?? me.user.name ?? me.user.id;
}

/**
 * `storeToken` with the server's whole answer (`GET /api/auth/me`, §2.8), for a face that says
 * more than one name (the window: "Ada (ada@example.com)", the organization). Raises AuthError
 * when the server refuses the token; nothing is stored then.
 */
export async function storeCheckedToken(store: CredentialStore, api: SibylApi, token: string): Promise<MeResponse> {
  const me = await api.me(token);
  const exp = decodeJwtExp(token);
  await store.save({ access_token: token, server_url: api.serverUrl, ...(exp !== undefined ? { access_token_expires_at: exp } : {}) });
  return me;
}
