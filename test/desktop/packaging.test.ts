// Builds the Linux dir target with the real electron-builder and the project's electron-builder.yml,
// against a stub Electron distribution (no download), and checks what a user would install: the
// metadata, app.asar's contents, the fuses and the CLI launcher, run through a symlink as the deb
// package links it. About 5 s here.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, readdirSync, readFileSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { before, test } from 'node:test';
import { extractFile, listPackage } from '@electron/asar';
import { FuseV1Options, getCurrentFuseWire } from '@electron/fuses';
import { parse } from 'yaml';
import * as z from 'zod';
import { tempDir } from '../helpers/tmp.ts';

const root = join(import.meta.dirname, '..', '..');
const pkg = z
  .object({ name: z.string(), version: z.string() })
  .passthrough()
  .parse(JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')));
const builderYml = z
  .object({ productName: z.string() })
  .passthrough()
  .parse(parse(readFileSync(join(root, 'electron-builder.yml'), 'utf8')));
// electron-builder's defaults for a Linux executable and the install folder under /opt.
const EXECUTABLE = pkg.name;
const PRODUCT = builderYml.productName;

// Fuse states as @electron/fuses writes them; the stub starts from Electron's defaults.
const ON = 0x31;
const OFF = 0x30;
const SENTINEL = 'dL7pKGdnNz796PbbjQWNKmHXBZaB9tsX';
const DEFAULT_WIRE = '10110001'; // RunAsNode, -Cookie, NodeOptions, Inspect, -Asar, -OnlyAsar, -V8, FileProtocol

const work = tempDir('sibyl-packaging-');
const appDir = join(work, 'dist', 'linux-unpacked');
const resources = join(appDir, 'resources');

/**
 * A stub `electron`: a shell script carrying a fuse wire (version 1, 8 fuses) in a comment, so
 * @electron/fuses can flip it, that behaves like Electron in Node mode (runs the script with this
 * Node) and fails in GUI mode, so a launcher that forgets ELECTRON_RUN_AS_NODE=1 fails the test.
 */
function writeStubElectron(dir: string): void {
  mkdirSync(join(dir, 'resources'), { recursive: true });
  const script = Buffer.concat([
    Buffer.from(`#!/bin/sh\n# ${SENTINEL}`),
    Buffer.from([1, DEFAULT_WIRE.length]),
    Buffer.from(`${DEFAULT_WIRE}\n`),
    Buffer.from(`[ "$ELECTRON_RUN_AS_NODE" = 1 ] || { echo 'stub electron: GUI mode' >&2; exit 3; }\n`),
    Buffer.from(`exec '${process.execPath}' "$@"\n`),
  ]);
  writeFileSync(join(dir, 'electron'), script);
  chmodSync(join(dir, 'electron'), 0o755);
}

before(() => {
  // `npm test` builds out/ first; a lone run of this file may not have. Never rebuilt when present:
  // browser tests running alongside read out/renderer.
  const bundles = ['out/cli.mjs', 'out/desktop/main.cjs', 'out/desktop/preload.cjs', 'out/renderer/index.html'];
  if (!bundles.every((f) => existsSync(join(root, f)))) execFileSync('npm', ['run', 'build', '--silent'], { cwd: root, stdio: 'inherit' });
  writeStubElectron(join(work, 'electron-dist'));
  execFileSync(
    join(root, 'node_modules/.bin/electron-builder'),
    [
      '--linux',
      'dir',
      '--publish',
      'never',
      `-c.electronDist=${join(work, 'electron-dist')}`,
      `-c.directories.output=${join(work, 'dist')}`,
    ],
    { cwd: root, stdio: ['ignore', 'pipe', 'inherit'], env: { ...process.env, CSC_IDENTITY_AUTO_DISCOVERY: 'false' } },
  );
});

test('the packaged package.json has the metadata installers need', () => {
  const packaged = z
    .object({
      name: z.literal(pkg.name),
      version: z.literal(pkg.version),
      main: z.string(),
      homepage: z.url(),
      author: z.object({ name: z.string().min(1), email: z.email() }),
      desktopName: z.literal(`${pkg.name}.desktop`),
    })
    .parse(JSON.parse(extractFile(join(resources, 'app.asar'), 'package.json').toString('utf8')));
  assert.ok(listPackage(join(resources, 'app.asar'), { isPack: false }).includes(`/${packaged.main}`), 'main is in app.asar');
});

test('app.asar holds the bundles only: no node_modules, no source maps, no CLI', () => {
  const entries = listPackage(join(resources, 'app.asar'), { isPack: false });
  for (const f of ['/out/desktop/main.cjs', '/out/desktop/preload.cjs', '/out/renderer/index.html', '/out/renderer/main.js'])
    assert.ok(entries.includes(f), `${f} is missing`);
  assert.deepEqual(
    entries.filter((e) => e.split('/').includes('node_modules')),
    [],
  );
  assert.deepEqual(
    entries.filter((e) => e.endsWith('.map')),
    [],
  );
  assert.ok(!entries.some((e) => e === '/out/cli.mjs' || e.startsWith('/out/cli-chunks')), 'the CLI ships outside app.asar');
  assert.ok(!existsSync(join(resources, 'app.asar.unpacked')), 'nothing is unpacked');
  // Safe only because the desktop bundle leaves nothing but Electron to node_modules.
  assert.match(readFileSync(join(root, 'scripts/build-desktop.mjs'), 'utf8'), /^ {2}external: \['electron'\],$/m);
});

test('fuses: RunAsNode on for the launcher, the rest locked down', async () => {
  const wire = await getCurrentFuseWire(join(appDir, EXECUTABLE));
  const expected: Record<number, number> = {
    [FuseV1Options.RunAsNode]: ON,
    [FuseV1Options.EnableCookieEncryption]: ON,
    [FuseV1Options.EnableNodeOptionsEnvironmentVariable]: OFF,
    [FuseV1Options.EnableNodeCliInspectArguments]: OFF,
    [FuseV1Options.EnableEmbeddedAsarIntegrityValidation]: ON,
    [FuseV1Options.OnlyLoadAppFromAsar]: ON,
  };
  for (const [fuse, state] of Object.entries(expected))
    assert.equal(wire[Number(fuse) as FuseV1Options], state, `fuse ${FuseV1Options[Number(fuse)]}`);
});

test('the CLI launcher runs the CLI on the app runtime, also through a symlink on PATH', () => {
  const launcher = join(resources, 'bin', 'sibyl-runner');
  assert.equal(statSync(launcher).mode & 0o111, 0o111, 'executable by everyone');
  assert.ok(existsSync(join(resources, 'bin', 'sibyl-runner.cmd')));
  // As after-install links it: /usr/bin/sibyl-runner -> /opt/<product>/resources/bin/sibyl-runner.
  const onPath = join(work, 'usr-bin');
  mkdirSync(onPath);
  symlinkSync(launcher, join(onPath, 'sibyl-runner'));
  const env: NodeJS.ProcessEnv = { ...process.env, PATH: `${onPath}:/usr/bin:/bin` };
  delete env.ELECTRON_RUN_AS_NODE;
  const out = execFileSync('sibyl-runner', ['--version'], { env, encoding: 'utf8', cwd: work });
  assert.equal(out.trim(), pkg.version);
  // A command in its own chunk (out/cli-chunks): they ship beside the entry.
  const completion = execFileSync('sibyl-runner', ['completion', 'bash'], { env, encoding: 'utf8', cwd: work });
  assert.match(completion, /^complete -o default -F _sibyl_runner sibyl-runner$/m);
  assert.deepEqual(
    readdirSync(join(resources, 'cli', 'out', 'cli-chunks')).filter((f) => !f.endsWith('.mjs')),
    [],
    'chunks only, no source maps',
  );
});

test('the launchers name the executables electron-builder writes on each platform', () => {
  const sh = readFileSync(join(root, 'build/bin/sibyl-runner'), 'utf8');
  assert.ok(sh.includes(`"$resources/../MacOS/${PRODUCT}"`), 'macOS: Contents/MacOS/<productName>');
  assert.ok(sh.includes(`"$resources/../${EXECUTABLE}"`), 'Linux: <install dir>/<executable>');
  const cmd = readFileSync(join(root, 'build/bin/sibyl-runner.cmd'), 'utf8');
  assert.ok(
    cmd.includes(`"%~dp0..\\..\\${PRODUCT}.exe" "%~dp0..\\cli\\bin\\sibyl-runner.js" %*`),
    'Windows: <install dir>\\<productName>.exe',
  );
  assert.match(cmd, /^set ELECTRON_RUN_AS_NODE=1\r$/m);
  assert.ok(!/[^\r]\n/.test(cmd), 'cmd.exe needs CRLF line ends');
});

test('the deb scripts link /usr/bin/sibyl-runner to the packaged launcher and are valid bash', () => {
  // Rendered as electron-builder's FpmTarget does.
  const render = (file: string) =>
    readFileSync(join(root, file), 'utf8').replace(/\$\{([a-zA-Z]+)\}/g, (_m, name: string) => {
      const values: Record<string, string> = { executable: EXECUTABLE, sanitizedProductName: PRODUCT };
      const v = values[name];
      assert.ok(v !== undefined, `unknown macro ${name}`);
      return v;
    });
  const install = render('build/linux/after-install.tpl');
  const remove = render('build/linux/after-remove.tpl');
  const launcher = `/opt/${PRODUCT}/resources/bin/${EXECUTABLE}`;
  assert.ok(install.includes(`LAUNCHER='${launcher}'`));
  assert.match(install, /update-alternatives --install '\/usr\/bin\/sibyl-runner' 'sibyl-runner' "\$LAUNCHER" 100/);
  assert.ok(remove.includes(`update-alternatives --remove '${EXECUTABLE}' '${launcher}'`));
  // The path the scripts link is where the build put the launcher.
  assert.ok(existsSync(join(appDir, launcher.slice(`/opt/${PRODUCT}/`.length))));
  for (const [name, text] of [
    ['after-install', install],
    ['after-remove', remove],
  ]) {
    const file = join(work, `${name}.sh`);
    writeFileSync(file, text ?? '');
    execFileSync('bash', ['-n', file]);
  }
});
