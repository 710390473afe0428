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
  if ('keychain' in backing) return encryptedStore(encPath, cli, backing.keychain, deps.safeStorage);
  if ('plain' in backing) return plainStore(encPath.replace(/\.enc$/, '.json'), cli, backing.plain);
  return unavailableStore(encPath, backing.why);
}

/** Where the app keeps the encrypted credentials of the configuration at `configPath`. */
export function vaultPathFor(userData: string, configPath: string): string {
  const hash = createHash('sha256').update(canonicalPath(configPath)).digest('hex').slice(0, 12);
  return join(userData, 'credentials', `${hash}.enc`);
}

/**
 * basic_text encrypts with a key hard-coded in Chromium: obfuscation, not a keyring. A desktop
 * without any keyring still signs in, to a file only the user can read, like the CLI's.
 */
const noKeyring = { plain: 'no OS keyring was found (safeStorage backend "basic_text"; install GNOME Keyring or KWallet to encrypt it)' };

/**
 * Which OS secret store backs safeStorage; `plain` when the machine has none at all (Linux
 * `basic_text`: the app then works from a 0600 file, as the CLI does, and says so); `why` when
 * one exists but cannot be used now (locked, failing, asked before the app is ready).
 */
async function keychainFor(deps: VaultDeps): Promise<{ keychain: string } | { plain: string } | { why: string }> {
  // Asked first: with no keyring at all Chromium picks basic_text, and some Electron versions then
  // report encryption as unavailable, which would otherwise hide the plain-file path below.
  if (deps.platform === 'linux' && deps.safeStorage.getSelectedStorageBackend() === 'basic_text') return noKeyring;
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
      return noKeyring;
    case 'unknown':
      return { why: 'the OS keyring is not known yet (safeStorage backend "unknown": asked before the app was ready)' };
    default:
      return assertNever(backend);
  }
}

/** What Settings says for each keychain keychainFor() names (CredentialStore.summary). */
const KEYCHAIN_WORDS: Readonly<Record<string, string>> = {
  'macOS Keychain': 'Stored in the macOS Keychain',
  'Windows DPAPI': 'Stored encrypted with your Windows account',
  libsecret: 'Stored in the system keyring',
  KWallet: 'Stored in KWallet',
};

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
    load: () => serial(() => loadOrCopy(read, write, cli, encPath)),
    save: (creds) => serial(() => write(creds)),
    describe: () => `encrypted with the OS keychain (${keychain}): ${encPath}`,
    summary: () => KEYCHAIN_WORDS[keychain] ?? `Stored encrypted by ${keychain}`,
  };
}

/**
 * The app's own credentials, else — first start on a machine signed in with the CLI — a copy of
 * the CLI's, written to the app's store; the CLI's file is left as it is.
 */
async function loadOrCopy(
  read: () => Promise<Credentials | undefined>,
  write: (creds: Credentials) => Promise<void>,
  cli: FileCredentialStore,
  to: string,
): Promise<Credentials> {
  const own = await read();
  if (own) return own;
  const fromCli = await cli.load().catch((err: unknown) => {
    log.warn('the command line tool’s credentials could not be read; not copying them', { file: cli.path, error: errorMessage(err) });
    return {};
  });
  if (Object.keys(fromCli).length === 0) return {};
  await write(fromCli);
  log.info('copied the command line tool’s credentials into the app’s store', { from: cli.path, to });
  return fromCli;
}

/** No keyring on this machine: the app's own 0600 file under userData, not encrypted, and it says so. */
function plainStore(path: string, cli: FileCredentialStore, why: string): CredentialStore {
  const own = new FileCredentialStore(path);
  log.warn('the app keeps its credentials unencrypted in a file only you can read', { file: path, why });
  const read = async (): Promise<Credentials | undefined> => {
    const creds = await own.load();
    return Object.keys(creds).length > 0 ? creds : undefined;
  };
  return {
    load: () => loadOrCopy(read, (c) => own.save(c), cli, path),
    save: (creds) => own.save(creds),
    describe: () => `not encrypted (${why}); readable only by you: ${path}`,
    summary: () => 'Stored in a private file (no keyring on this system)',
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
    summary: () => 'Not stored: the system keyring is locked or missing',
  };
}
