import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { browserCommand } from '../../main/cli/openBrowser.ts';
import { remaining } from '../../main/cli/devicePrompt.ts';
import { FakeCore } from '../helpers/fakeCore.ts';
import { BIN, cli, cliRun } from '../helpers/runnerHarness.ts';
import { tempDir, until } from '../helpers/tmp.ts';

/** `login` says what is going on (issue 15, item 18): Enter opens the browser, the code's time counts down, and it ends with who signed in. */

const core = await FakeCore.start({ heartbeatIntervalMs: 0, deviceIntervalS: 0.1 });
after(() => core.stop());

const CODE = /enter the code:\s+([A-Z0-9]{4}-[A-Z0-9]{4})/;
const WHO = `as Ada (ada@example.com) in Ada (owner).`;

test('--token: says who the token signs in as, from GET /api/auth/me', async () => {
  const home = tempDir();
  const r = await cliRun(['login', '--server', core.url, '--token', core.mintAccessToken(), '--config', join(home, 'runner.yaml')], {
    HOME: home,
  });
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout.split('\n')[0], `Signed in to ${core.url} ${WHO}`);
});

test('without a terminal: the code and its lifetime, no prompt or countdown; ends with who signed in', async () => {
  const home = tempDir();
  const login = cli(['login', '--server', core.url, '--config', join(home, 'runner.yaml')], { HOME: home });
  const code = await until(() => CODE.exec(login.output().stderr)?.[1], 'the user code');
  core.approveDevice(code);
  assert.equal(await new Promise((r) => login.on('close', r)), 0, login.output().stderr);
  const { stdout, stderr } = login.output();
  assert.match(stderr, /Waiting for approval; the code expires in 10 minutes…/);
  assert.doesNotMatch(stderr, /Press Enter|left/);
  assert.ok(!stderr.includes('\r') && !stderr.includes('\x1b'), 'a pipe gets plain lines, nothing redrawn');
  assert.equal(stdout.split('\n')[0], `Signed in to ${core.url} ${WHO}`);
  assert.equal(stdout.split('\n')[1], `Credentials are stored in file ${join(home, 'credentials.json')} (mode 0600).`);
});

/** util-linux `script` gives the CLI a real terminal (a pty) whose keyboard is our pipe. */
const SCRIPT = process.platform === 'linux' && spawnSync('script', ['--version'], { encoding: 'utf8' }).stdout.includes('util-linux');

test(
  'on a terminal: Enter opens the browser ($BROWSER) at the address with the code, the remaining time counts down, who signed in',
  { skip: SCRIPT ? false : 'needs util-linux `script` for a pseudo-terminal' },
  async () => {
    const home = tempDir();
    const opened = join(home, 'opened');
    const browser = join(home, 'browser.sh');
    writeFileSync(browser, `#!/bin/sh\nprintf '%s\\n' "$@" > '${opened}'\n`, { mode: 0o755 });
    const command = `'${process.execPath}' '${BIN}' login --server ${core.url} --config '${join(home, 'runner.yaml')}'`;
    const child = spawn('script', ['-qfec', command, '/dev/null'], {
      env: { PATH: process.env.PATH, HOME: home, BROWSER: browser },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    after(() => void (child.exitCode === null && child.kill('SIGKILL')));
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    const code = await until(() => CODE.exec(out)?.[1], 'the user code on the terminal');
    await until(() => out.includes('Press Enter to open the browser there, or Ctrl+C to cancel.'), 'the offer to open the browser');
    // The line is redrawn in place with the time left, which goes down.
    const left = (): number[] =>
      out
        .split('\r')
        .filter((part) => part.startsWith('\x1b[2K  Waiting for approval… '))
        .map((part) => /(\d+):(\d\d) left/.exec(part))
        .map((m) => Number(m?.[1]) * 60 + Number(m?.[2]));
    await until(() => new Set(left()).size >= 2, 'the countdown to move', 5000);
    const shown = left();
    assert.equal(shown[0], 600, 'it starts at the code lifetime the server gave (10:00)');
    assert.ok(
      shown.every((t, i) => i === 0 || t <= shown[i - 1]!),
      `it never goes up: ${shown.join(', ')}`,
    );

    child.stdin.write('\n');
    await until(() => existsSync(opened) && readFileSync(opened, 'utf8').trim(), 'the browser to be started');
    assert.equal(readFileSync(opened, 'utf8').trim(), `${core.url}/api/auth/device/verify?user_code=${code}`);
    await until(() => out.includes('Opened the browser.'), 'it says the browser was opened');

    core.approveDevice(code);
    const exit = await new Promise<number | null>((r) => child.on('close', r));
    assert.equal(exit, 0, out);
    assert.match(
      out,
      new RegExp(`\\r\\nSigned in to ${core.url.replace(/\./g, '\\.')} as Ada \\(ada@example\\.com\\) in Ada \\(owner\\)\\.\\r\\n`),
    );
  },
);

test('the opener: $BROWSER first, else the OS command; the remaining time as m:ss', () => {
  const url = 'https://sibyl.example.com/verify?user_code=AB&x=1';
  assert.deepEqual(browserCommand(url, { BROWSER: 'firefox:chromium' }, 'linux'), ['firefox', url]);
  assert.deepEqual(browserCommand(url, {}, 'linux'), ['xdg-open', url]);
  assert.deepEqual(browserCommand(url, {}, 'darwin'), ['open', url]);
  // No cmd.exe: `&` in the address is not a command separator.
  assert.deepEqual(browserCommand(url, {}, 'win32'), ['rundll32', 'url.dll,FileProtocolHandler', url]);
  assert.equal(remaining(600), '10:00');
  assert.equal(remaining(59.2), '1:00');
  assert.equal(remaining(-3), '0:00');
});
