import assert from 'node:assert/strict';
import { existsSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import type { SafeStorage } from 'electron';
import { createVault } from '../../main/desktop/vault.ts';
import type { Credentials } from '../../main/runner/config/credentials.ts';
import { ConfigError } from '../../main/runner/errors.ts';
import { tempDir } from '../helpers/tmp.ts';

type Backend = ReturnType<SafeStorage['getSelectedStorageBackend']>;

/** safeStorage with XOR "encryption" and Chromium's `v10` prefix; decrypting anything else throws, as the real one does. */
function fakeSafeStorage(opts: { available?: boolean; backend?: Backend; key?: number } = {}) {
  const key = opts.key ?? 0x5a;
  const xor = (b: Buffer): Buffer => Buffer.from(b.map((x) => x ^ key));
  return {
    isEncryptionAvailable: () => opts.available ?? true,
    getSelectedStorageBackend: (): Backend => opts.backend ?? 'gnome_libsecret',
    encryptString: (text: string): Buffer => Buffer.concat([Buffer.from('v10'), xor(Buffer.from(text, 'utf8'))]),
    decryptString: (sealed: Buffer): string => {
      if (sealed.subarray(0, 3).toString() !== 'v10')
        throw new Error('Error while decrypting the ciphertext provided to safeStorage.decryptString.');
      return xor(sealed.subarray(3)).toString('utf8');
    },
  };
}

const creds: Credentials = {
  access_token: 'at-secret',
  refresh_token: 'rt-secret',
  access_token_expires_at: 1_900_000_000,
  server_url: 'https://sibyl.example',
};

describe('vault with an OS keychain', () => {
  for (const [platform, backend, name] of [
    ['darwin', 'unknown', 'macOS Keychain'],
    ['win32', 'unknown', 'Windows DPAPI'],
    ['linux', 'gnome_libsecret', 'libsecret'],
    ['linux', 'kwallet6', 'KWallet'],
  ] as const) {
    test(`${platform} (${backend}): saves encrypted, 0600, and loads back`, async () => {
      const dir = tempDir('sibyl-vault-');
      const vault = createVault({ safeStorage: fakeSafeStorage({ backend }), dir, platform });
      assert.deepEqual(await vault.load(), {});
      await vault.save(creds);
      const enc = join(dir, 'credentials.enc');
      assert.equal(statSync(enc).mode & 0o777, 0o600);
      assert.doesNotMatch(readFileSync(enc, 'utf8'), /secret/);
      assert.equal(existsSync(join(dir, 'credentials.json')), false);
      assert.deepEqual(await vault.load(), creds);
      assert.equal(vault.describe(), `encrypted with the OS keychain (${name}): ${enc}`);
    });
  }

  test('a plaintext credentials.json is moved into the encrypted store and deleted', async () => {
    const dir = tempDir('sibyl-vault-');
    writeFileSync(join(dir, 'credentials.json'), JSON.stringify(creds), { mode: 0o600 });
    const vault = createVault({ safeStorage: fakeSafeStorage(), dir, platform: 'linux' });
    assert.deepEqual(await vault.load(), creds);
    assert.equal(existsSync(join(dir, 'credentials.json')), false);
    assert.ok(existsSync(join(dir, 'credentials.enc')));
    // A fresh vault (next app start) reads the encrypted copy.
    assert.deepEqual(await createVault({ safeStorage: fakeSafeStorage(), dir, platform: 'linux' }).load(), creds);
  });

  test('a plaintext file written later (CLI login) replaces the encrypted copy; saving removes a stale one', async () => {
    const dir = tempDir('sibyl-vault-');
    const vault = createVault({ safeStorage: fakeSafeStorage(), dir, platform: 'darwin' });
    await vault.save(creds);
    const newer = { ...creds, access_token: 'at-newer' };
    writeFileSync(join(dir, 'credentials.json'), JSON.stringify(newer), { mode: 0o600 });
    assert.deepEqual(await vault.load(), newer);
    assert.deepEqual(await vault.load(), newer);

    writeFileSync(join(dir, 'credentials.json'), JSON.stringify(creds), { mode: 0o600 });
    await vault.save({ ...newer, runner_token: 'rt' });
    assert.equal(existsSync(join(dir, 'credentials.json')), false, 'otherwise the next load would resurrect the older copy');
    assert.deepEqual(await vault.load(), { ...newer, runner_token: 'rt' });
  });

  test('loads and saves issued together see whole states', async () => {
    const dir = tempDir('sibyl-vault-');
    writeFileSync(join(dir, 'credentials.json'), JSON.stringify(creds), { mode: 0o600 });
    const vault = createVault({ safeStorage: fakeSafeStorage(), dir, platform: 'linux' });
    const [first, , second] = await Promise.all([vault.load(), vault.save({ runner_token: 'r2' }), vault.load()]);
    assert.deepEqual(first, creds);
    assert.deepEqual(second, { runner_token: 'r2' });
  });

  test('an undecryptable or damaged file is a ConfigError that says to sign in again', async () => {
    const dir = tempDir('sibyl-vault-');
    const enc = join(dir, 'credentials.enc');
    await createVault({ safeStorage: fakeSafeStorage(), dir, platform: 'win32' }).save(creds);

    // Another key (the OS keychain entry was reset): decrypts to garbage.
    const otherKey = createVault({ safeStorage: fakeSafeStorage({ key: 0x33 }), dir, platform: 'win32' });
    await assert.rejects(
      otherKey.load(),
      (err: unknown) => err instanceof ConfigError && err.message.includes(enc) && err.remedy === 'signIn',
    );

    for (const content of ['not base64 at all !!!\n', Buffer.from('garbage').toString('base64')]) {
      writeFileSync(enc, content);
      await assert.rejects(
        createVault({ safeStorage: fakeSafeStorage(), dir, platform: 'win32' }).load(),
        (err: unknown) => err instanceof ConfigError && /cannot be decrypted/.test(err.message) && err.remedy === 'signIn',
      );
    }

    // Decrypts, but is not credentials.
    const sealed = fakeSafeStorage().encryptString(JSON.stringify({ access_token: 42 }));
    writeFileSync(enc, sealed.toString('base64'));
    const vault = createVault({ safeStorage: fakeSafeStorage(), dir, platform: 'win32' });
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
  test('Linux basic_text: 0600 plaintext file, and describe says it is not encrypted', async () => {
    const dir = tempDir('sibyl-vault-');
    const vault = createVault({ safeStorage: fakeSafeStorage({ backend: 'basic_text' }), dir, platform: 'linux' });
    await vault.save(creds);
    const json = join(dir, 'credentials.json');
    assert.equal(statSync(json).mode & 0o777, 0o600);
    assert.deepEqual(JSON.parse(readFileSync(json, 'utf8')), creds);
    assert.equal(existsSync(join(dir, 'credentials.enc')), false);
    assert.deepEqual(await vault.load(), creds);
    assert.match(
      vault.describe(),
      /^file .*credentials\.json \(mode 0600\), NOT encrypted: no OS keyring was found \(safeStorage backend "basic_text"/,
    );
  });

  test('Linux before app ready (unknown backend) and macOS without encryption use the plaintext file', async () => {
    const dir = tempDir('sibyl-vault-');
    const early = createVault({ safeStorage: fakeSafeStorage({ backend: 'unknown' }), dir, platform: 'linux' });
    assert.match(early.describe(), /NOT encrypted: no OS keyring was found \(safeStorage backend "unknown"/);
    const mac = createVault({ safeStorage: fakeSafeStorage({ available: false }), dir, platform: 'darwin' });
    await mac.save(creds);
    assert.deepEqual(await mac.load(), creds);
    assert.match(mac.describe(), /NOT encrypted: OS encryption is not available$/);
  });

  test('credentials encrypted in a session that had a keyring: a ConfigError, until signing in again', async () => {
    const dir = tempDir('sibyl-vault-');
    await createVault({ safeStorage: fakeSafeStorage(), dir, platform: 'linux' }).save(creds);
    const noKeyring = createVault({ safeStorage: fakeSafeStorage({ backend: 'basic_text' }), dir, platform: 'linux' });
    await assert.rejects(
      noKeyring.load(),
      (err: unknown) => err instanceof ConfigError && /not available now.*sign in again/.test(err.message),
    );
    await noKeyring.save(creds);
    assert.deepEqual(await noKeyring.load(), creds);
  });
});
