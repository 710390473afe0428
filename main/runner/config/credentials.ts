import { join, dirname } from 'node:path';
import * as z from 'zod';
import { writeFileAtomic } from './atomicWrite.ts';
import { readValidated } from './readValidated.ts';
import { RunnerError, type RunnerErrorOptions } from '../errors.ts';

/**
 * Secrets live apart from runner.yaml. Each face keeps its own: the CLI and the headless daemon
 * `credentials.json` beside it (mode 0600, written atomically), the desktop app an OS-encrypted
 * store under its own folder (main/desktop/vault.ts). Neither writes or deletes the other's.
 */
export const Credentials = z.object({
  access_token: z.string().min(1).optional(),
  refresh_token: z.string().min(1).optional(),
  /** unix seconds, as in the CLI's auth.json (§2.11) */
  access_token_expires_at: z.number().optional(),
  runner_token: z.string().min(1).optional(),
  /** the server these tokens belong to (site root) */
  server_url: z.string().optional(),
});
export type Credentials = z.infer<typeof Credentials>;

/**
 * The OS keyring behind a credential store cannot be used: `keyring_unavailable` (none, locked,
 * or it refused to encrypt; remedy `retry` once it is unlocked) or `keyring_decrypt_failed`
 * (the stored ciphertext does not open with the keyring's key; remedy `signIn`, which replaces it).
 * Faces show it as such, never as "signed out".
 */
export class KeyringError extends RunnerError {
  constructor(code: 'keyring_unavailable' | 'keyring_decrypt_failed', message: string, options?: Omit<RunnerErrorOptions, 'exitCode'>) {
    super(code, message, { remedy: 'retry', ...options });
  }
}

export interface CredentialStore {
  /** The stored credentials, `{}` when there are none; raises RunnerError (ConfigError, KeyringError) when they cannot be read. */
  load(): Promise<Credentials>;
  save(creds: Credentials): Promise<void>;
  /** Where the secrets are kept, for status and settings ("file ~/.config/sibyl/credentials.json (0600)"). */
  describe(): string;
  /**
   * The same in words for people, without paths or modes ("Stored in the macOS Keychain"): what
   * the window's Settings shows, with `describe()` behind its Details. Absent: the face says it plainly itself.
   */
  summary?(): string;
}

export function credentialsPathFor(configPath: string): string {
  return join(dirname(configPath), 'credentials.json');
}

export class FileCredentialStore implements CredentialStore {
  readonly path: string;
  constructor(path: string) {
    this.path = path;
  }
  /** A broken file is the user's old session: signing in again replaces it (saveLogin tolerates it). */
  async load(): Promise<Credentials> {
    return (await readValidated(this.path, Credentials, { format: 'json', remedy: 'signIn' })) ?? {};
  }
  async save(creds: Credentials): Promise<void> {
    await writeFileAtomic(this.path, JSON.stringify(Credentials.parse(creds), null, 2) + '\n', 0o600);
  }
  describe(): string {
    return `file ${this.path} (mode 0600)`;
  }
  summary(): string {
    return 'Stored in a private file only you can read';
  }
}
