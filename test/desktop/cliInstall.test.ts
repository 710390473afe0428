import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { chmodSync, lstatSync, mkdirSync, readlinkSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import {
  adminAppleScript,
  adminLinkCommand,
  appleScriptString,
  installCliWithDialogs,
  installCommandLineTool,
  type CliInstallPorts,
} from '../../main/desktop/cliInstall.ts';
import type { AppState } from '../../preload/contract.ts';
import { trayModel } from '../../main/desktop/trayModel.ts';
import { desktopOptions, startTestDesktop } from '../helpers/desktopHarness.ts';
import { FakeTray, fakeElectron } from '../helpers/fakeElectron.ts';
import { tempDir, until } from '../helpers/tmp.ts';

/** A packaged app's launcher in a temp folder whose name needs every kind of quoting. */
function app(): { root: string; launcher: string } {
  const root = join(tempDir(), `Apps "it's" $HOME \\ \`x\``);
  const bin = join(root, 'Sibyl Runner.app', 'Contents', 'Resources', 'bin');
  mkdirSync(bin, { recursive: true });
  const launcher = join(bin, 'sibyl-runner');
  writeFileSync(launcher, '#!/bin/sh\necho launched\n');
  chmodSync(launcher, 0o755);
  return { root, launcher };
}

/** Ports that record what was asked; the "administrator" runs the command with /bin/sh, for real. */
function ports(opts: { replace?: boolean; admin?: 'run' | 'cancel' } = {}): CliInstallPorts & { asked: string[]; adminRuns: string[] } {
  const asked: string[] = [];
  const adminRuns: string[] = [];
  return {
    asked,
    adminRuns,
    confirmReplace: async (link, existing) => (asked.push(`${link}: ${existing}`), opts.replace ?? false),
    runAsAdmin: async (command) => {
      adminRuns.push(command);
      if (opts.admin === 'cancel') return 'cancelled';
      execFileSync('/bin/sh', ['-c', command]);
      return 'ok';
    },
  };
}

const linkTarget = (link: string): string => (lstatSync(link).isSymbolicLink() ? readlinkSync(link) : 'not a link');

test('links the command to the app launcher (folder made if missing); a second time it is already there', async () => {
  const { launcher } = app();
  const link = join(tempDir(), 'usr local', 'bin', 'sibyl-runner');
  const p = ports();
  assert.deepEqual(await installCommandLineTool(launcher, link, p), { kind: 'installed', link, launcher });
  assert.equal(linkTarget(link), launcher);
  assert.equal(execFileSync(link, { encoding: 'utf8' }), 'launched\n', 'the link runs the launcher');
  assert.deepEqual(await installCommandLineTool(launcher, link, p), { kind: 'alreadyInstalled', link });
  assert.deepEqual([p.asked, p.adminRuns], [[], []], 'nothing asked, no password');
});

test('a link to another copy of the app is replaced without asking; anything else only if the user agrees; a folder never', async () => {
  const { launcher } = app();
  const dir = tempDir();
  const link = join(dir, 'sibyl-runner');
  symlinkSync('/Volumes/Sibyl Runner/Sibyl Runner.app/Contents/Resources/bin/sibyl-runner', link);
  const p = ports();
  assert.equal((await installCommandLineTool(launcher, link, p)).kind, 'installed');
  assert.equal(linkTarget(link), launcher);
  assert.deepEqual(p.asked, []);

  const npmLink = join(dir, 'npm', 'sibyl-runner');
  mkdirSync(join(dir, 'npm'));
  symlinkSync('../lib/node_modules/sibyl-runner/bin/sibyl-runner.js', npmLink);
  const no = ports({ replace: false });
  assert.deepEqual(await installCommandLineTool(launcher, npmLink, no), { kind: 'cancelled' });
  assert.equal(linkTarget(npmLink), '../lib/node_modules/sibyl-runner/bin/sibyl-runner.js', 'kept when the user says no');
  assert.deepEqual(no.asked, [`${npmLink}: a link to ${join(dir, 'lib/node_modules/sibyl-runner/bin/sibyl-runner.js')}`]);
  const yes = ports({ replace: true });
  assert.equal((await installCommandLineTool(launcher, npmLink, yes)).kind, 'installed');
  assert.equal(linkTarget(npmLink), launcher);

  const file = join(dir, 'file', 'sibyl-runner');
  mkdirSync(join(dir, 'file'));
  writeFileSync(file, 'mine');
  const keep = ports({ replace: false });
  assert.equal((await installCommandLineTool(launcher, file, keep)).kind, 'cancelled');
  assert.deepEqual(keep.asked, [`${file}: a file`]);

  const folder = join(dir, 'folder', 'sibyl-runner');
  mkdirSync(folder, { recursive: true });
  const f = await installCommandLineTool(launcher, folder, ports({ replace: true }));
  assert.equal(f.kind, 'failed');
  assert.ok(lstatSync(folder).isDirectory());
});

test('the administrator command quotes every path for sh, and the AppleScript quotes it again', () => {
  const { launcher } = app();
  const link = join(tempDir(), `b'in "x"`, 'sibyl-runner');
  const command = adminLinkCommand(launcher, link);
  // Run by sh as it is: the exact paths arrive, nothing else runs.
  execFileSync('/bin/sh', ['-c', command]);
  assert.equal(linkTarget(link), launcher);
  const script = adminAppleScript(command, 'Sibyl Runner wants to install "sibyl-runner".');
  const literal = /^do shell script ("(?:[^"\\]|\\.)*") with prompt ("(?:[^"\\]|\\.)*") with administrator privileges$/.exec(script);
  assert.ok(literal, script);
  const unquote = (s: string): string => s.slice(1, -1).replace(/\\(.)/g, '$1');
  assert.equal(unquote(literal[1]!), command);
  assert.equal(unquote(literal[2]!), 'Sibyl Runner wants to install "sibyl-runner".');
  assert.equal(appleScriptString('a\\"b'), '"a\\\\\\"b"');
});

test('refused: an app run from its disk image or a translocated copy, and a missing launcher', async () => {
  const link = join(tempDir(), 'sibyl-runner');
  for (const launcher of [
    '/Volumes/Sibyl Runner/Sibyl Runner.app/Contents/Resources/bin/sibyl-runner',
    '/private/var/folders/x/AppTranslocation/ABC/d/Sibyl Runner.app/Contents/Resources/bin/sibyl-runner',
  ]) {
    const r = await installCommandLineTool(launcher, link, ports());
    assert.equal(r.kind, 'failed');
    assert.match(r.kind === 'failed' ? r.message : '', /Applications folder/);
  }
  const missing = await installCommandLineTool(join(tempDir(), 'gone'), link, ports());
  assert.equal(missing.kind, 'failed');
  assert.throws(() => lstatSync(link), 'nothing was linked');
});

test(
  'a folder the user cannot write: the link is made as administrator, or not at all when the password is refused',
  { skip: process.getuid?.() === 0 && 'root writes anywhere: runs on the CI jobs, which are not root' },
  async () => {
    const { launcher } = app();
    const bin = join(tempDir(), 'bin');
    mkdirSync(bin);
    chmodSync(bin, 0o555);
    const link = join(bin, 'sibyl-runner');
    const refused = ports({ admin: 'cancel' });
    assert.deepEqual(await installCommandLineTool(launcher, link, refused), { kind: 'cancelled' });
    assert.equal(refused.adminRuns.length, 1);
    // The "administrator" here is the same user: let it write for this run.
    const admin: CliInstallPorts = {
      confirmReplace: async () => false,
      runAsAdmin: async (command) => {
        chmodSync(bin, 0o755);
        execFileSync('/bin/sh', ['-c', command]);
        chmodSync(bin, 0o555);
        return 'ok';
      },
    };
    assert.equal((await installCommandLineTool(launcher, link, admin)).kind, 'installed');
    assert.equal(linkTarget(link), launcher);
    chmodSync(bin, 0o755);
  },
);

test('with dialogs: asks before replacing, then says what happened; after a no, nothing more', async () => {
  const { launcher } = app();
  const dir = tempDir();
  const link = join(dir, 'sibyl-runner');
  writeFileSync(link, 'someone else');
  const e = fakeElectron();
  e.messageBoxAnswers.push(1); // Cancel
  assert.equal((await installCliWithDialogs(e, launcher, { link })).kind, 'cancelled');
  assert.equal(e.messageBoxes.length, 1);
  assert.equal(e.messageBoxes[0]!.type, 'warning');
  assert.deepEqual(e.messageBoxes[0]!.buttons, ['Replace', 'Cancel']);
  assert.equal(e.messageBoxes[0]!.cancelId, 1);
  e.messageBoxAnswers.push(0); // Replace
  assert.equal((await installCliWithDialogs(e, launcher, { link })).kind, 'installed');
  assert.deepEqual(
    e.messageBoxes.slice(1).map((b) => [b.type, b.message]),
    [
      ['warning', `${link} already exists`],
      ['info', 'The sibyl-runner command is installed'],
    ],
  );
  const failed = await installCliWithDialogs(e, join(dir, 'no-launcher'), { link: join(dir, 'other') });
  assert.equal(failed.kind, 'failed');
  assert.equal(e.messageBoxes.at(-1)!.type, 'error');
});

test('the tray offers it only in the packaged macOS app (a menu-bar app never shows its menu bar)', async () => {
  // First run: not registered, no runner yet.
  const state: AppState = {
    version: 1,
    registered: false,
    serverUrl: '',
    runnerName: '',
    runnerId: '',
    attached: false,
    signedIn: false,
    daemon: null,
  };
  const ids = (installCli: boolean): string[] => trayModel(state, { startAtLogin: false, installCli }).menu.map((m) => m.id);
  assert.ok(ids(true).includes('installCli'));
  assert.ok(!ids(false).includes('installCli'));
  assert.equal(
    trayModel(state, { startAtLogin: false, installCli: true }).menu.find((m) => m.id === 'installCli')?.label,
    'Install Command Line Tool…',
  );

  const trayIds = async (platform: NodeJS.Platform, packaged: boolean): Promise<string[]> => {
    const home = tempDir();
    const e = fakeElectron({ packaged });
    // A launcher that is not there: the click ends at the first check, far from /usr/local/bin.
    await startTestDesktop(e, desktopOptions(home, join(home, 'runner.yaml'), { platform, cliLauncher: join(home, 'no-launcher') }));
    const tray = FakeTray.last!;
    await until(() => tray.menu.some((m) => m.id === 'startAtLogin'), 'the tray after start-up');
    if (platform === 'darwin' && packaged) {
      tray.click('installCli');
      await until(() => e.messageBoxes.length === 1, 'the result dialog');
      assert.equal(e.messageBoxes[0]!.type, 'error');
      assert.match(e.messageBoxes[0]!.detail ?? '', /launcher is missing/);
    }
    return tray.menu.map((m) => m.id ?? '');
  };
  assert.ok((await trayIds('darwin', true)).includes('installCli'));
  assert.ok(!(await trayIds('darwin', false)).includes('installCli'), 'not from a development run');
  assert.ok(!(await trayIds('linux', true)).includes('installCli'), 'the deb links /usr/bin/sibyl-runner itself');
  assert.ok(!(await trayIds('win32', true)).includes('installCli'), 'the installer puts it on PATH');
});
