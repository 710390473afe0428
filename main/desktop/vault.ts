import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { SafeStorage } from 'electron';
import { writeFileAtomic } from '../runner/config/atomicWrite.ts';
import { canonicalPath } from '../runner/config/canonicalPath.ts';
import { Credentials, credentialsPathFor, FileCredentialStore, KeyringError, type CredentialStore } from '../runner/config/credentials.ts';
import { validationError } from '../runner/config/readValidated.ts';
import { errorMessage } from '../runner/errors.ts';
import { logger } from '../runner/logger.ts';
import { assertNever } from '../runner/protocol/messages.ts';

const log = logger('vault');

/** The async safeStorage API (Electron ≥ 39; the sync one is deprecated in 45) plus the Linux backend's name. */
export type VaultSafeStorage = Pick<
  SafeStorage,
  'isAsyncEncryptionAvailable' | 'encryptStringAsync' | 'decryptStringAsync' | 'getSelectedStorageBackend'
>;

export interface VaultDeps {
  safeStorage: VaultSafeStorage;
  /** `app.getPath('userData')`: the app's own folder; its credentials never live beside runner.yaml. */
  userData: string;
  /** runner.yaml of the runner the app shows; each configuration gets its own encrypted file. */
  configPath: string;
  platform: NodeJS.Platform;
}

/**
 * The desktop app's own credential store: `<userData>/credentials/<12 hex of sha256(config path)>.enc`,
 * safeStorage-encrypted, mode 0600. The CLI keeps its `credentials.json` beside runner.yaml; the
 * app only ever READS that file, once, when it has no credentials of its own (so a machine signed
 * in with `sibyl-runner login` is signed in in the app too) and copies it — it never writes,
 * moves or deletes it, so signing in or out in one face leaves the other signed in.
 *
 * Without a usable OS keyring (none, locked, or Linux's `basic_text`, whose key is hard-coded in
 * Chromium) load and save raise KeyringError `keyring_unavailable`; ciphertext the keyring cannot
 * decrypt raises `keyring_decrypt_failed`. Call after the app is ready (before that Linux reports
 * no encryption).
 */
export async function createVault(deps: VaultDeps): Promise<CredentialStore> {
  const encPath = vaultPathFor(deps.userData, deps.configPath);
  const cli = new FileCredentialStore(credentialsPathFor(deps.configPath));
  const backing = await keychainFor(deps);
  return 'keychain' in backing ? encryptedStore(encPath, cli, backing.keychain, deps.safeStorage) : unavailableStore(encPath, backing.why);
}

/** Where the app keeps the encrypted credentials of the configuration at `configPath`. */
export function vaultPathFor(userData: string, configPath: string): string {
  const hash = createHash('sha256').update(canonicalPath(configPath)).digest('hex').slice(0, 12);
  return join(userData, 'credentials', `${hash}.enc`);
}

/** Which OS secret store backs safeStorage, or why none does. */
async function keychainFor(deps: VaultDeps): Promise<{ keychain: string } | { why: string }> {
  let available: boolean;
  try {
    available = await deps.safeStorage.isAsyncEncryptionAvailable();
  } catch (err) {
    return { why: `the OS keyring could not be opened (${errorMessage(err)})` };
  }
  if (!available) return { why: 'OS encryption is not available (the keyring is missing or locked)' };
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
      return { why: `no OS keyring was found (safeStorage backend "${backend}"; install and unlock GNOME Keyring or KWallet)` };
    default:
      return assertNever(backend);
  }
}

function encryptedStore(encPath: string, cli: FileCredentialStore, keychain: string, safeStorage: VaultSafeStorage): CredentialStore {
  // The first load may copy the CLI's file in: one operation at a time, so a load never races a save.
  let queue: Promise<unknown> = Promise.resolve();
  const serial = <T>(fn: () => Promise<T>): Promise<T> => {
    const next = queue.then(fn, fn);
    queue = next.catch(() => undefined);
    return next;
  };

  const write = async (creds: Credentials): Promise<void> => {
    let sealed: Buffer;
    try {
      sealed = await safeStorage.encryptStringAsync(JSON.stringify(Credentials.parse(creds)));
    } catch (err) {
      throw new KeyringError('keyring_unavailable', `the ${keychain} keyring could not encrypt the credentials (${errorMessage(err)})`, {
        cause: err,
        context: { file: encPath },
      });
    }
    // writeFileAtomic takes text, so the ciphertext is stored as base64.
    await writeFileAtomic(encPath, sealed.toString('base64') + '\n', 0o600);
  };

  /** undefined when the app has no credentials of its own yet */
  const read = async (): Promise<Credentials | undefined> => {
    let text: string;
    try {
      text = await readFile(encPath, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw err;
    }
    let plain: { result: string; shouldReEncrypt: boolean };
    let json: unknown;
    try {
      plain = await safeStorage.decryptStringAsync(Buffer.from(text.trim(), 'base64'));
      json = JSON.parse(plain.result);
    } catch (err) {
      throw new KeyringError('keyring_decrypt_failed', `${encPath}: cannot be decrypted with the ${keychain} key (${errorMessage(err)})`, {
        cause: err,
        remedy: 'signIn',
        context: { file: encPath },
      });
    }
    const parsed = Credentials.safeParse(json);
    if (!parsed.success)
      throw validationError(encPath, parsed.error, { remedy: 'signIn', prefix: 'the decrypted credentials are not valid: ' });
    // The OS rotated the key (or offers a stronger one): seal again so the old key can go.
    if (plain.shouldReEncrypt) await write(parsed.data);
    return parsed.data;
  };

  return {
    load: () =>
      serial(async () => {
        const own = await read();
        if (own) return own;
        // First start of the app on a machine signed in with the CLI: take a copy, leave the file as it is.
        const fromCli = await cli.load().catch((err: unknown) => {
          log.warn('the command line tool’s credentials could not be read; not copying them', { file: cli.path, error: errorMessage(err) });
          return {};
        });
        if (Object.keys(fromCli).length === 0) return {};
        await write(fromCli);
        log.info('copied the command line tool’s credentials into the app’s keychain store', { from: cli.path, to: encPath, keychain });
        return fromCli;
      }),
    save: (creds) => serial(() => write(creds)),
    describe: () => `encrypted with the OS keychain (${keychain}): ${encPath}`,
  };
}

function unavailableStore(encPath: string, why: string): CredentialStore {
  const fail = (): never => {
    throw new KeyringError(
      'keyring_unavailable',
      `the app keeps its credentials only in an OS keyring, and ${why}; unlock or install a keyring and restart the app, or run the runner headless with the command line tool`,
      { context: { file: encPath } },
    );
  };
  return {
    load: async () => fail(),
    save: async () => fail(),
    describe: () => `not stored: ${why}`,
  };
}
