import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import type { Configuration } from 'app-builder-lib';
import { validateConfiguration } from 'app-builder-lib/out/util/config/config.js';
import { DebugLogger } from 'builder-util';
import { parse } from 'yaml';
import * as z from 'zod';
import { tempDir } from '../helpers/tmp.ts';

const root = join(import.meta.dirname, '..', '..');
const raw: unknown = parse(readFileSync(join(root, 'electron-builder.yml'), 'utf8'));

/** The parts of the config this app depends on, with the values it needs. */
const Expected = z.object({
  appId: z.literal('dev.sibyl.runner'),
  productName: z.literal('Sibyl Runner'),
  directories: z.object({ output: z.literal('dist') }),
  files: z.array(z.string()),
  extraResources: z.array(z.object({ from: z.string(), to: z.string(), filter: z.array(z.string()).optional() }).strict()),
  linux: z.object({
    target: z.tuple([z.literal('AppImage'), z.literal('deb')]),
    category: z.literal('Development'),
    icon: z.literal('build/icons'),
  }),
  deb: z.object({ depends: z.array(z.string()) }),
  mac: z.object({
    target: z.literal('dmg'),
    category: z.literal('public.app-category.developer-tools'),
    extendInfo: z.object({ LSUIElement: z.literal(true) }),
    hardenedRuntime: z.literal(true),
    entitlements: z.literal('build/entitlements.mac.plist'),
    entitlementsInherit: z.literal('build/entitlements.mac.plist'),
    icon: z.literal('build/icon.png'),
  }),
  win: z.object({ target: z.literal('nsis'), icon: z.literal('build/icon.png') }),
  nsis: z.object({ oneClick: z.literal(false), perMachine: z.literal(false) }),
});
const config = Expected.parse(raw);

test("electron-builder's own schema accepts the file", async () => {
  // The schema check is what validates the cast.
  await validateConfiguration(raw as Configuration, new DebugLogger(false));
});

test('the app ships its bundles and package.json, never sources or tests', () => {
  const included = config.files.filter((p) => !p.startsWith('!'));
  assert.deepEqual(included.sort(), ['out/**', 'package.json']);
  for (const p of config.files) assert.doesNotMatch(p.replace(/^!/, ''), /^(main|preload|renderer|test|scripts|bench)\//);
  // The bundles contain the runtime dependencies; source maps stay home.
  assert.ok(config.files.includes('!node_modules/**'));
  assert.ok(config.files.includes('!out/**/*.map'));
});

test('tray images and the CLI go to resources under their own names', () => {
  assert.deepEqual(config.extraResources, [
    { from: 'build/tray', to: 'tray' },
    { from: 'bin/sibyl-runner.js', to: 'cli/bin/sibyl-runner.js' },
    { from: 'out/cli.mjs', to: 'cli/out/cli.mjs' },
    { from: 'out/cli-chunks', to: 'cli/out/cli-chunks', filter: ['*.mjs'] },
    { from: 'build/bin', to: 'bin' },
  ]);
  // bin/sibyl-runner.js loads the bundle from ../out/cli.mjs (which loads ./cli-chunks/*.mjs), so they keep that layout.
  assert.match(readFileSync(join(root, 'bin/sibyl-runner.js'), 'utf8'), /'\.\.\/out\/cli\.mjs'/);
  assert.ok(config.deb.depends.includes('git'), 'tasks run in git worktrees');
});

test('every path the config names exists', () => {
  const paths = [
    config.linux.icon,
    config.mac.icon,
    config.mac.entitlements,
    config.win.icon,
    ...config.extraResources.map((r) => r.from),
    ...config.files.filter((p) => !/[*!]/.test(p)),
  ];
  for (const p of paths) {
    if (p.startsWith('out/')) {
      // A build output (out/ is not committed): check that the build writes it.
      assert.match(
        readFileSync(join(root, 'scripts/build-cli.mjs'), 'utf8'),
        new RegExp(p === 'out/cli.mjs' ? `outdir: 'out',\\n  entryNames: 'cli',` : `const CHUNKS = '${p}'`),
        `${p} is not produced by scripts/build-cli.mjs`,
      );
      continue;
    }
    assert.ok(existsSync(join(root, p)), `${p} is missing`);
  }
  // Linux takes a folder of NxN.png files.
  const linuxIcons = readdirSync(join(root, config.linux.icon));
  for (const size of [16, 32, 48, 64, 128, 256, 512])
    assert.ok(linuxIcons.includes(`${size}x${size}.png`), `${config.linux.icon}/${size}x${size}.png`);
  assert.ok(statSync(join(root, 'build/tray')).isDirectory());
  // Hardened runtime: exactly the two exceptions V8 needs.
  const entitlements = readFileSync(join(root, config.mac.entitlements), 'utf8');
  assert.deepEqual(
    [...entitlements.matchAll(/<key>([^<]+)<\/key>/g)].map((m) => m[1]),
    ['com.apple.security.cs.allow-jit', 'com.apple.security.cs.allow-unsigned-executable-memory'],
  );
});

const nsh = readFileSync(join(root, 'build/installer.nsh'), 'utf8');

test('the NSIS include puts resources\\bin on the PATH and takes it off only on a real uninstall', () => {
  assert.match(nsh, /!macro customInstall\n\s+!insertmacro sibylEditUserPath add\n!macroend/);
  assert.match(nsh, /!macro customUnInstall\n\s+\$\{ifNot\} \$\{isUpdated\}\n\s+!insertmacro sibylEditUserPath remove/);
});

test("the install folder reaches PowerShell through the environment: an apostrophe, '&', '$' or space in it is never code", () => {
  // The folder: NSIS copies it into $1, the System plugin hands register 1 to the OS unparsed.
  assert.ok(nsh.includes('StrCpy $1 "$INSTDIR\\resources\\bin"'));
  assert.ok(nsh.includes(`System::Call 'kernel32::SetEnvironmentVariable(t "SIBYL_PATH_DIR", t r1)i.r0'`));
  const exec = nsh.split('\n').filter((l) => l.includes('nsExec::'));
  assert.equal(exec.length, 1);
  const line = exec[0]!;
  // Every '$' in the command is NSIS's '$$' (a literal '$') or the macro's compile-time ACTION:
  // no variable, $INSTDIR least of all, is put into it when the installer runs.
  assert.deepEqual(line.replace(/\$\$/g, '').replace('${ACTION}', '').match(/\$/g), null, line);
  assert.ok(line.includes('$$d = [string]$$env:SIBYL_PATH_DIR; if (-not $$d) { exit 2 }'));
  // As powershell.exe gets it (NSIS's '$$' is '$'): one double-quoted -Command argument, no quote inside.
  const command = /^\s*nsExec::ExecToLog `powershell\.exe -NoProfile -NonInteractive -ExecutionPolicy Bypass -Command "(.*)"`$/.exec(
    line,
  )?.[1];
  assert.ok(command !== undefined, line);
  assert.doesNotMatch(command, /"/);
});

test(
  'the NSIS include compiles (makensis)',
  { skip: !commandExists('makensis') && 'makensis is not installed here: `npm run dist` on the Windows CI job compiles it' },
  () => {
    const dir = tempDir('sibyl-nsis-');
    // electron-builder's script defines isUpdated and includes LogicLib; a stand-in does here.
    const script = [
      'Unicode true',
      '!include LogicLib.nsh',
      '!define isUpdated "0 == 1"',
      `OutFile "${join(dir, 'sibyl-include-check.exe')}"`,
      'RequestExecutionLevel user',
      `!include "${join(root, 'build/installer.nsh')}"`,
      'Section',
      '  !insertmacro customInstall',
      '  WriteUninstaller "$INSTDIR\\uninstall.exe"',
      'SectionEnd',
      'Section "Uninstall"',
      '  !insertmacro customUnInstall',
      'SectionEnd',
      '',
    ].join('\n');
    writeFileSync(join(dir, 'setup.nsi'), script);
    execFileSync('makensis', ['-V2', '-WX', join(dir, 'setup.nsi')], { stdio: 'pipe' });
    assert.ok(existsSync(join(dir, 'sibyl-include-check.exe')));
  },
);

function commandExists(name: string): boolean {
  try {
    execFileSync(name, ['-VERSION'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}
