import type { CredentialStore } from '../config/credentials.ts';
import type { RunnerConfig } from '../config/schema.ts';
import { logger } from '../logger.ts';
import type { SibylApi } from '../api/sibylApi.ts';
import { TokenProvider } from '../api/tokens.ts';
import type { AuthSource } from '../daemon.ts';

const log = logger('auth');

/**
 * The WebSocket's bearer token, in the original's precedence (§5.3): runner_token, then
 * access_token (env or runner.yaml), then the stored login, refreshed as needed (fixes R1/R2).
 */
export function authSourceFor(config: RunnerConfig, store: CredentialStore, api: SibylApi): AuthSource {
  const provider = new TokenProvider(store, api);
  const known = new Set<string>([config.runner_token, config.access_token, config.refresh_token].filter(Boolean));
  let useStored = !config.runner_token && !config.access_token;
  const remember = (t: string | undefined): string | undefined => {
    if (t) known.add(t);
    return t;
  };
  // The stored login's refresh token (30 days) is never handed out: read it (after any rotation)
  // from the store so `secrets`, what agentEnv.ts keeps from the agents, has it too.
  const rememberStored = async (): Promise<void> => {
    const creds = await store.load().catch(() => undefined);
    remember(creds?.access_token);
    remember(creds?.refresh_token);
    remember(creds?.runner_token);
  };
  return {
    async accessToken() {
      try {
        if (config.runner_token) return config.runner_token;
        if (!useStored) return config.access_token;
        return remember(await provider.accessToken());
      } finally {
        // Also when the token in use came from elsewhere: an earlier login may still be stored.
        await rememberStored();
      }
    },
    async refreshNow() {
      if (config.runner_token) return false;
      try {
        // An injected access token that the server refused: fall back to the stored login if any.
        remember(await provider.refreshNow());
        await rememberStored();
        useStored = true;
        return true;
      } catch (err) {
        log.warn('could not refresh credentials', { error: err });
        return false;
      }
    },
    secrets: () => [...known],
  };
}
