import { hostname } from 'node:os';
import { runDeviceFlow } from '../runner/api/deviceFlow.ts';
import { normalizeServerUrl, SibylApi } from '../runner/api/sibylApi.ts';
import { saveLogin, storeToken, TokenProvider } from '../runner/api/tokens.ts';
import type { CredentialStore } from '../runner/config/credentials.ts';
import { insecureHttpError } from '../runner/config/serverUrl.ts';
import { AuthError, errorMessage, RunnerError, ServerError } from '../runner/errors.ts';
import { logger } from '../runner/logger.ts';
import { registerThisMachine } from '../runner/registration.ts';
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
          this.#emit({ state: 'approved', message: 'Signed in.' });
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

/** Step 2b: a pasted access token (or API key), checked against the server before it is stored. */
export async function useToken(
  store: CredentialStore,
  serverUrl: string,
  token: string,
  opts: WizardServerOptions = {},
): Promise<{ user: string }> {
  const api = new SibylApi(normalizeServerUrl(serverUrl), { allowInsecureHttp: opts.allowInsecureHttp ?? false });
  return { user: await storeToken(store, api, token) };
}

/** Step 4: register with the stored login; returns what runner.yaml must record. */
export async function registerRunner(
  store: CredentialStore,
  input: RegisterInput,
  opts: WizardServerOptions = {},
): Promise<{ id: string; graphRunnerId: string; serverUrl: string }> {
  const api = new SibylApi(normalizeServerUrl(input.serverUrl), { allowInsecureHttp: opts.allowInsecureHttp ?? false });
  const creds = await store.load();
  if (!creds.access_token && !creds.refresh_token) throw new AuthError('not signed in yet (step 2)');
  if (creds.server_url && creds.server_url !== api.serverUrl)
    throw new AuthError(`you are signed in to ${creds.server_url}, not ${api.serverUrl}`, undefined, { code: 'other_server' });
  try {
    const token = await new TokenProvider(store, api).accessToken();
    const runner = await registerThisMachine(api, token, input);
    return { id: runner.id, graphRunnerId: runner.graph_runner_id, serverUrl: api.serverUrl };
  } catch (err) {
    if (err instanceof RunnerError) throw err;
    throw new RunnerError('register_failed', `registration failed: ${errorMessage(err)}`, { cause: err, remedy: 'retry' });
  }
}
