import { join, dirname } from 'node:path';
import { z } from 'zod';
import { writeFileAtomic } from './atomicWrite.ts';
import { readValidated } from './readValidated.ts';

/**
 * Secrets live apart from runner.yaml: `credentials.json` beside it, mode 0600, written atomically.
 * The desktop app swaps in an OS-encrypted store behind the same interface.
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

export interface CredentialStore {
  load(): Promise<Credentials>;
  save(creds: Credentials): Promise<void>;
  /** Where the secrets are kept, for status and settings ("file ~/.config/sibyl/credentials.json (0600)"). */
  describe(): string;
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
}
