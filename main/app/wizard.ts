import { hostname } from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import { accountOf, whoAmI, type SignedInAccount } from '../runner/api/account.ts';
import { runDeviceFlow } from '../runner/api/deviceFlow.ts';
import { normalizeServerUrl, SibylApi } from '../runner/api/sibylApi.ts';
import { saveLogin, storeCheckedToken, TokenProvider } from '../runner/api/tokens.ts';
import type { CredentialStore } from '../runner/config/credentials.ts';
import { insecureHttpError } from '../runner/config/serverUrl.ts';
import { AuthError, errorMessage, RunnerError, ServerError } from '../runner/errors.ts';
import { logger } from '../runner/logger.ts';
import { registerThisMachine, replaceRegistration, type OldRunnerOutcome } from '../runner/registration.ts';
import type { DeviceCode, DeviceLoginEvent, RegisterInput, ServerCheck } from '../../preload/contract.ts';

const log = logger('wizard');

/**
 * What the wizard's server calls need from the configuration: runner.yaml `allow_insecure_http`.
 * Without it, plain http:// to a host that is not this machine is refused before any request
 * (kind `insecure_http` from the check; InsecureHttpError, code `insecure_http`, from the others).
 */
export interface WizardServerOptions {
  allowInsecureHttp?: boolean;
}

/** Step 1: is this a reachable Sibyl server? Answers as data, never throws. */
export async function checkServer(url: string, opts: WizardServerOptions = {}): Promise<ServerCheck> {
  let serverUrl: string;
  try {
    serverUrl = normalizeServerUrl(url);
  } catch (err) {
    return { ok: false, kind: 'invalid', message: errorMessage(err) };
  }
  const insecure = insecureHttpError(serverUrl, opts.allowInsecureHttp ?? false);
  if (insecure) return { ok: false, kind: 'insecure_http', message: insecure.message, serverUrl };
  try {
    const health = await new SibylApi(serverUrl, { timeoutMs: 10_000, allowInsecureHttp: opts.allowInsecureHttp ?? false }).health();
    return {
      ok: true,
      kind: 'ok',
      message: `Sibyl server${health.version ? ` ${health.version}` : ''} at ${serverUrl}`,
      serverUrl,
      ...(health.version ? { version: health.version } : {}),
    };
  } catch (err) {
    const code = err instanceof ServerError ? err.code : '';
    const kind: ServerCheck['kind'] = code === 'tls' ? 'tls' : code === 'network' || code === 'timeout' ? 'unreachable' : 'not_sibyl';
    return { ok: false, kind, message: errorMessage(err), serverUrl };
  }
}

/** Step 2a: one device login at a time; progress is pushed as `wizard:device` events. */
export class DeviceLogin {
  readonly #store: CredentialStore;
  readonly #emit: (e: DeviceLoginEvent) => void;
  #abort: AbortController | undefined;

  constructor(store: CredentialStore, emit: (e: DeviceLoginEvent) => void) {
    this.#store = store;
    this.#emit = emit;
  }

  /** Resolves with the code to show; approval, denial or expiry arrive as events. Throws InsecureHttpError first (see WizardServerOptions). */
  start(serverUrl: string, opts: WizardServerOptions = {}): Promise<DeviceCode> {
    const api = new SibylApi(normalizeServerUrl(serverUrl), { allowInsecureHttp: opts.allowInsecureHttp ?? false });
    this.cancel();
    const ac = new AbortController();
    this.#abort = ac;
    return new Promise<DeviceCode>((resolve, reject) => {
      let shown = false;
      runDeviceFlow(api, {
        clientName: `sibyl-runner on ${hostname()}`,
        signal: ac.signal,
        onCode: (info) => {
          shown = true;
          resolve({
            userCode: info.userCode,
            verificationUri: info.verificationUri,
            verificationUriComplete: info.verificationUriComplete,
            expiresInS: info.expiresInS,
          });
          this.#emit({ state: 'pending', message: 'Waiting for approval in the browser…' });
        },
      })
        .then(async (tokens) => {
          await saveLogin(this.#store, tokens, api.serverUrl);
          // Who signed in is news, not a condition: a server that cannot say still signed us in.
          const account = await whoAmI(api, tokens.access_token, { signal: ac.signal }).catch((err: unknown) => {
            log.warn('signed in, but the server did not say who', { error: err });
            return undefined;
          });
          this.#emit({ state: 'approved', message: signedInMessage(account), ...(account ? { account } : {}) });
        })
        .catch((err: unknown) => {
          if (!shown) return reject(err instanceof Error ? err : new Error(String(err)));
          if (ac.signal.aborted) return this.#emit({ state: 'cancelled', message: 'Sign-in cancelled.' });
          const msg = errorMessage(err);
          const code = err instanceof RunnerError ? err.code : '';
          const state: DeviceLoginEvent['state'] = code === 'login_expired' ? 'expired' : code === 'login_denied' ? 'denied' : 'error';
          log.warn('device login ended', { state, error: err });
          this.#emit({ state, message: msg });
        })
        .finally(() => {
          if (this.#abort === ac) this.#abort = undefined;
        });
    });
  }

  cancel(): void {
    this.#abort?.abort();
    this.#abort = undefined;
  }
}

/** "Signed in as Ada (ada@example.com)." — or only "Signed in." when the server did not say who. */
export function signedInMessage(account: SignedInAccount | undefined): string {
  return account ? `Signed in as ${account.label}.` : 'Signed in.';
}

/** Step 2b: a pasted access token (or API key), checked against the server (`GET /api/auth/me`) before it is stored. */
export async function useToken(
  store: CredentialStore,
  serverUrl: string,
  token: string,
  opts: WizardServerOptions = {},
): Promise<{ user: string; account: SignedInAccount }> {
  const api = new SibylApi(normalizeServerUrl(serverUrl), { allowInsecureHttp: opts.allowInsecureHttp ?? false });
  const account = accountOf(await storeCheckedToken(store, api, token));
  return { user: account.email ?? account.label, account };
}

/** The registration runner.yaml held when the wizard registers again. */
export interface PreviousRunner {
  runnerId: string;
  /** its server (site root) */
  serverUrl: string;
}

/** How the wizard replaces a registration; see `registerRunner`. */
export interface Replacing {
  previous: PreviousRunner;
  /**
   * Stop the old runner (§3.6: the server deletes only an offline runner). Called only when
   * the old runner is on the server the new one registers with, after the token is ready.
   */
  stop(): Promise<void>;
  /** The server has let the old runner go: forget its id before anything else can fail. */
  forget(outcome: OldRunnerOutcome): void;
}

/** The server marks a runner offline when its socket closes, a moment after we closed it. */
const OFFLINE_TRIES = 20;
const OFFLINE_WAIT_MS = 250;

/**
 * Step 4: register with the stored login; returns what runner.yaml must record. With
 * `replacing`, this machine was registered already: on the same server the old runner is stopped
 * and deleted there first (`replaced` deleted, or gone), so the server never lists two runners
 * for one machine; on another server it stays there (`elsewhere`: this token cannot delete it).
 * Raises AuthError before any change when not signed in (to this server); what
 * `replaceRegistration` raises when the old runner cannot be deleted (not its owner: AuthError;
 * still online: RunnerError `runner_online`), with the old runner stopped — the caller starts it again.
 */
export async function registerRunner(
  store: CredentialStore,
  input: RegisterInput,
  opts: WizardServerOptions & { replacing?: Replacing } = {},
): Promise<{ id: string; graphRunnerId: string; serverUrl: string; replaced?: OldRunnerOutcome | 'elsewhere' }> {
  const api = new SibylApi(normalizeServerUrl(input.serverUrl), { allowInsecureHttp: opts.allowInsecureHttp ?? false });
  const creds = await store.load();
  if (!creds.access_token && !creds.refresh_token) throw new AuthError('not signed in yet (step 2)');
  if (creds.server_url && creds.server_url !== api.serverUrl)
    throw new AuthError(`you are signed in to ${creds.server_url}, not ${api.serverUrl}`, undefined, { code: 'other_server' });
  try {
    const token = await new TokenProvider(store, api).accessToken();
    const replacing = opts.replacing;
    if (replacing && sameServer(replacing.previous.serverUrl, api.serverUrl)) {
      await replacing.stop();
      const { runner, old } = await offlineFirst(() =>
        replaceRegistration(api, token, replacing.previous.runnerId, input, (outcome) => replacing.forget(outcome)),
      );
      return { id: runner.id, graphRunnerId: runner.graph_runner_id, serverUrl: api.serverUrl, replaced: old };
    }
    const runner = await registerThisMachine(api, token, input);
    return {
      id: runner.id,
      graphRunnerId: runner.graph_runner_id,
      serverUrl: api.serverUrl,
      ...(replacing ? { replaced: 'elsewhere' as const } : {}),
    };
  } catch (err) {
    if (err instanceof RunnerError) throw err;
    throw new RunnerError('register_failed', `registration failed: ${errorMessage(err)}`, { cause: err, remedy: 'retry' });
  }
}

function sameServer(a: string, b: string): boolean {
  try {
    return normalizeServerUrl(a) === normalizeServerUrl(b);
  } catch {
    return false;
  }
}

/** Retries `fn` while the server still sees the just-stopped runner online (`runner_online`), a few seconds at most. */
async function offlineFirst<T>(fn: () => Promise<T>): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await fn();
    } catch (err) {
      if (!(err instanceof RunnerError && err.code === 'runner_online') || attempt >= OFFLINE_TRIES) throw err;
      await sleep(OFFLINE_WAIT_MS);
    }
  }
}
