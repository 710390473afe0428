import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import * as z from 'zod';
import { FileCredentialStore } from '../../main/runner/config/credentials.ts';
import { readValidated } from '../../main/runner/config/readValidated.ts';
import { ConfigError } from '../../main/runner/errors.ts';
import { tempDir } from '../helpers/tmp.ts';

const Schema = z.object({
  server: z.object({ url: z.url(), port: z.number().int() }),
  agents: z.number().min(1),
  name: z.string(),
});

function configError(check: (err: ConfigError) => void): (err: unknown) => boolean {
  return (err: unknown) => {
    assert.ok(err instanceof ConfigError, String(err));
    check(err);
    return true;
  };
}

test('readValidated names every bad key in one message', async () => {
  const path = join(tempDir(), 'settings.yaml');
  writeFileSync(path, 'server:\n  url: not a url\n  port: 80.5\nagents: 0\nname: ok\n');
  await assert.rejects(
    readValidated(path, Schema),
    configError((err) => {
      assert.match(err.message, new RegExp(`^${path}: key "server\\.url": [^;]+; key "server\\.port": [^;]+; key "agents": [^;]+$`));
      assert.equal(err.remedy, 'fixConfig');
      assert.equal(err.context.file, path);
    }),
  );
});

test('readValidated: YAML, JSON and TOML by extension; a missing file or an empty YAML document is undefined', async () => {
  const dir = tempDir();
  const want = { server: { url: 'https://x.example', port: 443 }, agents: 2, name: 'n' };
  writeFileSync(join(dir, 'a.yaml'), 'server: { url: https://x.example, port: 443 }\nagents: 2\nname: n\n');
  writeFileSync(join(dir, 'a.json'), JSON.stringify(want));
  writeFileSync(join(dir, 'a.toml'), 'agents = 2\nname = "n"\n[server]\nurl = "https://x.example"\nport = 443\n');
  writeFileSync(join(dir, 'empty.yaml'), '# nothing yet\n');
  for (const name of ['a.yaml', 'a.json', 'a.toml']) assert.deepEqual(await readValidated(join(dir, name), Schema), want);
  assert.equal(await readValidated(join(dir, 'missing.yaml'), Schema), undefined);
  assert.equal(await readValidated(join(dir, 'empty.yaml'), Schema), undefined);
});

test('readValidated: a syntax error names the file, the format and the line', async () => {
  const dir = tempDir();
  const cases = [
    ['bad.yaml', 'name: a\nserver: [unclosed\n', /bad\.yaml: not valid YAML at line 3, column 1: /],
    ['bad.json', '{\n"name": "a",\n}', /bad\.json: not valid JSON at line 3, column 1: /],
    ['bad.toml', 'name = "a"\n[server\n', /bad\.toml: not valid TOML at line 2, column \d+: /],
  ] as const;
  for (const [name, text, message] of cases) {
    writeFileSync(join(dir, name), text);
    await assert.rejects(
      readValidated(join(dir, name), Schema),
      configError((err) => assert.match(err.message, message)),
    );
  }
  mkdirSync(join(dir, 'folder.yaml'));
  await assert.rejects(
    readValidated(join(dir, 'folder.yaml'), Schema),
    configError((err) => assert.match(err.message, /^cannot read .*folder\.yaml: /)),
  );
});

test('a broken credentials file says so, with the sign-in remedy and no command in the message', async () => {
  const store = new FileCredentialStore(join(tempDir(), 'credentials.json'));
  writeFileSync(store.path, '{"access_token": ');
  await assert.rejects(
    store.load(),
    configError((err) => {
      assert.match(err.message, new RegExp(`^${store.path}: not valid JSON`));
      assert.doesNotMatch(err.message, /sibyl-runner/);
      assert.equal(err.remedy, 'signIn');
      assert.equal(err.exitCode, 2);
    }),
  );
  writeFileSync(store.path, '{"access_token": 5, "refresh_token": ""}');
  await assert.rejects(
    store.load(),
    configError((err) => {
      assert.match(err.message, /key "access_token": .*; key "refresh_token": /);
      assert.equal(err.remedy, 'signIn');
    }),
  );
});
