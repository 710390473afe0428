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

export function commandContext(flags: ConfigFlags, io: Io): CommandContext {
  const home = io.env.HOME || homedir();
  const loaded = loadConfig({ flags, env: io.env, home });
  return {
    ...loaded,
    home,
    credentials: new FileCredentialStore(credentialsPathFor(loaded.path)),
    api: (serverUrl) => new SibylApi(serverUrl ?? loaded.config.server_url, { allowInsecureHttp: loaded.config.allow_insecure_http }),
  };
}
