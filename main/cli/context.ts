import { homedir } from 'node:os';
import { SibylApi } from '../runner/api/sibylApi.ts';
import { credentialsPathFor, FileCredentialStore } from '../runner/config/credentials.ts';
import { loadConfig, type ConfigFlags, type LoadedConfig } from '../runner/config/loadConfig.ts';
import type { Io } from './args.ts';

/** What every command needs: the resolved config, its credentials store, and an API client. */
export interface CommandContext extends LoadedConfig {
  credentials: FileCredentialStore;
  home: string;
  api(serverUrl?: string): SibylApi;
}

/**
 * `transport: 'unchecked'` for commands that never send the token or check the address they use
 * themselves: a plain-HTTP server_url of another machine must not lock the user out of `status`,
 * `logs` or the `login --server https://…` that fixes it (only `run` refuses it at load).
 */
export function commandContext(flags: ConfigFlags, io: Io, transport: 'checked' | 'unchecked' = 'unchecked'): CommandContext {
  const home = io.env.HOME || homedir();
  const loaded = loadConfig({ flags, env: io.env, home, transport });
  return {
    ...loaded,
    home,
    credentials: new FileCredentialStore(credentialsPathFor(loaded.path)),
    api: (serverUrl) => new SibylApi(serverUrl ?? loaded.config.server_url, { allowInsecureHttp: loaded.config.allow_insecure_http }),
  };
}
