import { readFile, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { SafeStorage } from 'electron';
import { writeFileAtomic } from '../runner/config/atomicWrite.ts';
import { Credentials, FileCredentialStore, type CredentialStore } from '../runner/config/credentials.ts';
import { validationError } from '../runner/config/readValidated.ts';
import { ConfigError, errorMessage } from '../runner/errors.ts';
import { logger } from '../runner/logger.ts';
import { assertNever } from '../runner/protocol/messages.ts';

const log = logger('vault');

export interface VaultDeps {
  safeStorage: Pick<SafeStorage, 'isEncryptionAvailable' | 'encryptString' | 'decryptString' | 'getSelectedStorageBackend'>;
  /** The folder of runner.yaml; credentials.json / credentials.enc live beside it. */
  dir: string;
  platform: NodeJS.Platform;
}

/**
 * The desktop app's credential store. Call after the app is ready: before that Linux reports no
 * encryption and an `unknown` backend, and the credentials would stay in the plaintext file.
 */
export function createVault(deps: VaultDeps): CredentialStore {
  const plain = new FileCredentialStore(join(deps.dir, 'credentials.json'));
  const encPath = join(deps.dir, 'credentials.enc');
  const backing = keychainFor(deps);
  return 'keychain' in backing ? encryptedStore(plain, encPath, backing.keychain, deps) : plaintextStore(plain, encPath, backing.why);
}

/** Which OS secret store backs safeStorage, or why none does. */
function keychainFor(deps: VaultDeps): { keychain: string } | { why: string } {
  if (!deps.safeStorage.isEncryptionAvailable()) return { why: 'OS encryption is not available' };
  if (deps.platform === 'darwin') return { keychain: 'macOS Keychain' };
  if (deps.platform === 'win32') return { keychain: 'Windows DPAPI' };
  const backend = deps.safeStorage.getSelectedStorageBackend();
  switch (backend) {
    case 'gnome_libsecret':
      return { keychain: 'libsecret' };
    case 'kwallet':
    case 'kwallet5':
    case 'kwallet6':
      return { keychain: 'KWallet' };
    case 'basic_text':
    case 'unknown':
      // basic_text encrypts with a key hard-coded in Chromium: obfuscation, not a keyring.
      return {
        why: `no OS keyring was found (safeStorage backend "${backend}"; install and unlock GNOME Keyring or KWallet to encrypt them)`,
      };
    default:
      return assertNever(backend);
  }
}

function encryptedStore(plain: FileCredentialStore, encPath: string, keychain: string, deps: VaultDeps): CredentialStore {
  const { safeStorage } = deps;
  // Migration reads, writes and deletes: run one operation at a time so a load never sees half of it.
  let queue: Promise<unknown> = Promise.resolve();
  const serial = <T>(fn: () => Promise<T>): Promise<T> => {
    const next = queue.then(fn, fn);
    queue = next.catch(() => undefined);
    return next;
  };

  const write = async (creds: Credentials): Promise<void> => {
    const sealed = safeStorage.encryptString(JSON.stringify(Credentials.parse(creds)));
    // writeFileAtomic takes text, so the ciphertext is stored as base64.
    await writeFileAtomic(encPath, sealed.toString('base64') + '\n', 0o600);
    // Only after the encrypted copy is on disk: a crash in between leaves both, and the next load migrates again.
    await rm(plain.path, { force: true });
  };

  const read = async (): Promise<Credentials> => {
    let text: string;
    try {
      text = await readFile(encPath, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return {};
      throw err;
    }
    let json: unknown;
    try {
      json = JSON.parse(safeStorage.decryptString(Buffer.from(text.trim(), 'base64')));
    } catch (err) {
      throw new ConfigError(`${encPath}: cannot be decrypted with the ${keychain} key (${errorMessage(err)})`, {
        cause: err,
        remedy: 'signIn',
        context: { file: encPath },
      });
    }
    const parsed = Credentials.safeParse(json);
    if (!parsed.success)
      throw validationError(encPath, parsed.error, { remedy: 'signIn', prefix: 'the decrypted credentials are not valid: ' });
    return parsed.data;
  };

  return {
    load: () =>
      serial(async () => {
        // The plaintext file exists only when someone wrote it after the last migration (the CLI's
        // `login`, or an earlier session without a keyring), so it is the newer copy and wins.
        if (await exists(plain.path)) {
          const creds = await plain.load();
          await write(creds);
          log.info('moved credentials into the OS keychain', { from: plain.path, to: encPath, keychain });
          return creds;
        }
        return read();
      }),
    save: (creds) => serial(() => write(creds)),
    describe: () => `encrypted with the OS keychain (${keychain}): ${encPath}`,
  };
}

function plaintextStore(plain: FileCredentialStore, encPath: string, why: string): CredentialStore {
  return {
    load: async () => {
      // Credentials saved in a session that had a keyring cannot be read without it; saying so
      // beats looking signed out. Signing in again writes the plaintext file and clears this.
      if (!(await exists(plain.path)) && (await exists(encPath))) {
        throw new ConfigError(
          `${encPath}: encrypted with an OS keyring that is not available now (${why}); unlock the keyring and restart, or sign in again`,
          { remedy: 'signIn', context: { file: encPath } },
        );
      }
      return plain.load();
    },
    save: (creds) => plain.save(creds),
    describe: () => `${plain.describe()}, NOT encrypted: ${why}`,
  };
}

async function exists(path: string): Promise<boolean> {
  try {
    await stat(path);
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return false;
    throw err;
  }
}
