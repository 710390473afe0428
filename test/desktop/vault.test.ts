import assert from 'node:assert/strict';
import { existsSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { createVault, vaultPathFor, type VaultSafeStorage } from '../../main/desktop/vault.ts';
import { KeyringError, type Credentials } from '../../main/runner/config/credentials.ts';
import { ConfigError } from '../../main/runner/errors.ts';
import { tempDir } from '../helpers/tmp.ts';

type Backend = ReturnType<VaultSafeStorage['getSelectedStorageBackend']>;

/** Async safeStorage with XOR "encryption" and Chromium's `v10` prefix; decrypting anything else throws, as the real one does. */
function fakeSafeStorage(opts: { available?: boolean; backend?: Backend; key?: number; reEncrypt?: boolean } = {}): VaultSafeStorage {
  const key = opts.key ?? 0x5a;
  const xor = (b: Buffer): Buffer => Buffer.from(b.map((x) => x ^ key));
  return {
    isAsyncEncryptionAvailable: async () => opts.available ?? true,
    getSelectedStorageBackend: () => opts.backend ?? 'gnome_libsecret',
    encryptStringAsync: async (text) => Buffer.concat([Buffer.from('v10'), xor(Buffer.from(text, 'utf8'))]),
    decryptStringAsync: async (sealed) => {
      if (sealed.subarray(0, 3).toString() !== 'v10') throw new Error('Error while decrypting the ciphertext provided to safeStorage.');
      return { result: xor(sealed.subarray(3)).toString('utf8'), shouldReEncrypt: opts.reEncrypt ?? false };
    },
  };
}

const creds: Credentials = {
  access_token: 'at-secret',
  refresh_token: 'rt-secret',
  access_token_expires_at: 1_900_000_000,
  server_url: 'https://sibyl.example',
};

/** A config folder (runner.yaml's) and the app's userData, apart, as on a real machine. */
function folders(): { configPath: string; cliFile: string; userData: string } {
  const root = tempDir('sibyl-vault-');
  return { configPath: join(root, 'runner.yaml'), cliFile: join(root, 'credentials.json'), userData: join(root, 'userData') };
}

describe('vault with an OS keychain', () => {
  for (const [platform, backend, name, words] of [
    ['darwin', 'unknown', 'macOS Keychain', 'Stored in the macOS Keychain'],
    ['win32', 'unknown', 'Windows DPAPI', 'Stored encrypted with your Windows account'],
    ['linux', 'gnome_libsecret', 'libsecret', 'Stored in the system keyring'],
    ['linux', 'kwallet6', 'KWallet', 'Stored in KWallet'],
  ] as const) {
    test(`${platform} (${backend}): saves encrypted under userData, 0600, and loads back`, async () => {
      const f = folders();
      const vault = await createVault({
        safeStorage: fakeSafeStorage({ backend }),
        userData: f.userData,
        configPath: f.configPath,
        platform,
      });
      assert.deepEqual(await vault.load(), {});
      await vault.save(creds);
      const enc = vaultPathFor(f.userData, f.configPath);
      assert.ok(enc.startsWith(join(f.userData, 'credentials')));
      assert.equal(statSync(enc).mode & 0o777, 0o600);
      assert.doesNotMatch(readFileSync(enc, 'utf8'), /secret/);
      assert.equal(existsSync(f.cliFile), false, 'the app never writes the CLI file');
      assert.deepEqual(await vault.load(), creds);
      assert.equal(vault.describe(), `encrypted with the OS keychain (${name}): ${enc}`);
      assert.equal(vault.summary?.(), words, 'Settings says where, in words');
    });
  }

  test('two configurations keep apart tokens', async () => {
    const a = folders();
    const b = folders();
    const userData = a.userData;
    assert.notEqual(vaultPathFor(userData, a.configPath), vaultPathFor(userData, b.configPath));
    const va = await createVault({ safeStorage: fakeSafeStorage(), userData, configPath: a.configPath, platform: 'linux' });
    const vb = await createVault({ safeStorage: fakeSafeStorage(), userData, configPath: b.configPath, platform: 'linux' });
    await va.save(creds);
    assert.deepEqual(await vb.load(), {});
  });

  test('key rotated (shouldReEncrypt): the credentials are sealed again', async () => {
    const f = folders();
    const deps = { userData: f.userData, configPath: f.configPath, platform: 'darwin' } as const;
    await (await createVault({ ...deps, safeStorage: fakeSafeStorage() })).save(creds);
    const enc = vaultPathFor(f.userData, f.configPath);
    const before = readFileSync(enc, 'utf8');
    // The new key (0x33) is what the OS now offers; the old ciphertext still opens (flagged for re-encryption).
    const rotating: VaultSafeStorage = {
      ...fakeSafeStorage({ key: 0x33 }),
      decryptStringAsync: (b) => fakeSafeStorage({ reEncrypt: true }).decryptStringAsync(b),
    };
    assert.deepEqual(await (await createVault({ ...deps, safeStorage: rotating })).load(), creds);
    assert.notEqual(readFileSync(enc, 'utf8'), before);
    assert.deepEqual(await (await createVault({ ...deps, safeStorage: fakeSafeStorage({ key: 0x33 }) })).load(), creds);
  });

  test('loads and saves issued together see whole states', async () => {
    const f = folders();
    writeFileSync(f.cliFile, JSON.stringify(creds), { mode: 0o600 });
    const vault = await createVault({ safeStorage: fakeSafeStorage(), userData: f.userData, configPath: f.configPath, platform: 'linux' });
    const [first, , second] = await Promise.all([vault.load(), vault.save({ runner_token: 'r2' }), vault.load()]);
    assert.deepEqual(first, creds);
    assert.deepEqual(second, { runner_token: 'r2' });
  });

  test('an undecryptable file is KeyringError keyring_decrypt_failed (sign in again); a damaged one a ConfigError', async () => {
    const f = folders();
    const deps = { userData: f.userData, configPath: f.configPath, platform: 'win32' } as const;
    const enc = vaultPathFor(f.userData, f.configPath);
    await (await createVault({ ...deps, safeStorage: fakeSafeStorage() })).save(creds);

    // Another key (the OS keychain entry was reset): decrypts to garbage.
    const otherKey = await createVault({ ...deps, safeStorage: fakeSafeStorage({ key: 0x33 }) });
    await assert.rejects(
      otherKey.load(),
      (err: unknown) =>
        err instanceof KeyringError && err.code === 'keyring_decrypt_failed' && err.message.includes(enc) && err.remedy === 'signIn',
    );
    for (const content of ['not base64 at all !!!\n', Buffer.from('garbage').toString('base64')]) {
      writeFileSync(enc, content);
      await assert.rejects(
        (await createVault({ ...deps, safeStorage: fakeSafeStorage() })).load(),
        (err: unknown) => err instanceof KeyringError && /cannot be decrypted/.test(err.message) && err.remedy === 'signIn',
      );
    }

    // Decrypts, but is not credentials.
    const sealed = await fakeSafeStorage().encryptStringAsync(JSON.stringify({ access_token: 42 }));
    writeFileSync(enc, sealed.toString('base64'));
    const vault = await createVault({ ...deps, safeStorage: fakeSafeStorage() });
    await assert.rejects(
      vault.load(),
      (err: unknown) => err instanceof ConfigError && /not valid.*access_token/.test(err.message) && err.remedy === 'signIn',
    );

    // Signing in again repairs it.
    await vault.save(creds);
    assert.deepEqual(await vault.load(), creds);
  });
});

describe('vault without a keyring', () => {
  for (const [label, opts, platform] of [
    ['Linux before app ready (unknown backend)', { backend: 'unknown' }, 'linux'],
    ['macOS without encryption', { available: false }, 'darwin'],
  ] as const) {
    test(`${label}: load and save raise keyring_unavailable; nothing is written anywhere`, async () => {
      const f = folders();
      const vault = await createVault({ safeStorage: fakeSafeStorage(opts), userData: f.userData, configPath: f.configPath, platform });
      for (const op of [() => vault.load(), () => vault.save(creds)])
        await assert.rejects(
          op(),
          (err: unknown) => err instanceof KeyringError && err.code === 'keyring_unavailable' && err.remedy === 'retry',
        );
      assert.equal(existsSync(f.userData), false);
      assert.equal(existsSync(f.cliFile), false);
      assert.match(vault.describe(), /^not stored: /);
      assert.equal(vault.summary?.(), 'Not stored: the system keyring is locked or missing');
    });
  }
});

for (const available of [true, false])
  test(`Linux with no keyring at all (basic_text, encryption reported ${available ? 'available' : 'unavailable'}): the app signs in to its own 0600 file, says it is not encrypted, copies the CLI sign-in once and never touches the CLI file`, async () => {
    const f = folders();
    writeFileSync(f.cliFile, JSON.stringify({ access_token: 'cli-token' }) + '\n', { mode: 0o600 });
    const before = readFileSync(f.cliFile);
    const vault = await createVault({
      safeStorage: fakeSafeStorage({ backend: 'basic_text', available }),
      userData: f.userData,
      configPath: f.configPath,
      platform: 'linux',
    });
    assert.match(vault.describe(), /^not encrypted \(no OS keyring was found.*\); readable only by you: /);
    assert.equal(vault.summary?.(), 'Stored in a private file (no keyring on this system)');
    assert.equal((await vault.load()).access_token, 'cli-token');
    await vault.save(creds);
    const own = vaultPathFor(f.userData, f.configPath).replace(/\.enc$/, '.json');
    assert.equal((JSON.parse(readFileSync(own, 'utf8')) as Credentials).access_token, creds.access_token);
    assert.equal(statSync(own).mode & 0o777, 0o600);
    assert.deepEqual(await vault.load(), creds);
    assert.deepEqual(readFileSync(f.cliFile), before, "the CLI's file is unchanged");
  });
