// Issue 15, item 19: colour only on a terminal and never with NO_COLOR set, `npm run demo`
// included; `projects link` says what it did once, without a log line beside it.
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { join, resolve } from 'node:path';
import { PassThrough } from 'node:stream';
import { describe, test } from 'node:test';
import { colourOn, painter, SGR } from '../../main/cli/colour.ts';
import type { Io } from '../../main/cli/args.ts';
import { makeRepo } from '../helpers/gitRepo.ts';
import { cliRun, REPO } from '../helpers/runnerHarness.ts';
import { tempDir } from '../helpers/tmp.ts';

/** An Io whose stdout is a terminal or not, run in a terminal or not, with this environment. */
function io(opts: { stdoutTTY: boolean; inTTY: boolean; env?: Record<string, string> }): Io {
  const stdout = Object.assign(new PassThrough(), { isTTY: opts.stdoutTTY });
  return { stdout, stderr: new PassThrough(), env: opts.env ?? {}, isTTY: opts.inTTY };
}

describe('colour', () => {
  test('only when stdout is a terminal and the CLI runs in one, and not with NO_COLOR set (an empty one does not count)', () => {
    assert.equal(colourOn(io({ stdoutTTY: true, inTTY: true })), true);
    assert.equal(colourOn(io({ stdoutTTY: false, inTTY: true })), false, 'stdout into a pipe or file');
    assert.equal(colourOn(io({ stdoutTTY: true, inTTY: false })), false, 'started by a service, stdin not a terminal');
    assert.equal(colourOn(io({ stdoutTTY: true, inTTY: true, env: { NO_COLOR: '1' } })), false);
    assert.equal(colourOn(io({ stdoutTTY: true, inTTY: true, env: { NO_COLOR: '' } })), true, 'https://no-color.org: set and not empty');
    assert.equal(painter(true)(SGR.red, 'x'), '\x1b[31mx\x1b[0m');
    assert.equal(painter(false)(SGR.red, 'x'), 'x');
  });

  test('`npm run demo` in a terminal: bold headings, none with NO_COLOR, nor anything else in colour', async (t) => {
    // `script` gives the demo a pseudo-terminal (util-linux's form; macOS's `script` takes other arguments).
    if (process.platform !== 'linux' || spawnSync('script', ['--version']).error)
      return t.skip('needs util-linux script for a pseudo-terminal (Linux)');
    const demo = (env: Record<string, string>): Promise<{ code: number | null; out: string }> =>
      new Promise((done) => {
        const child = spawn('script', ['-qec', `${JSON.stringify(process.execPath)} scripts/demo.ts`, '/dev/null'], {
          cwd: REPO,
          env: { PATH: process.env.PATH, HOME: tempDir('sibyl-demo-home-'), TERM: 'xterm', SIBYL_DEMO_PACE_MS: '0', ...env },
          stdio: ['ignore', 'pipe', 'pipe'],
        });
        let out = '';
        for (const s of [child.stdout, child.stderr]) s.on('data', (c: Buffer) => (out += c.toString()));
        child.on('close', (code) => done({ code, out }));
      });
    const [coloured, plain] = await Promise.all([demo({}), demo({ NO_COLOR: '1' })]);
    assert.equal(coloured.code, 0, coloured.out);
    assert.equal(plain.code, 0, plain.out);
    // eslint-disable-next-line no-control-regex -- the escape sequence is what is looked for
    assert.match(coloured.out, /\x1b\[1m▸ sibyl-runner login/, 'bold headings on a terminal');
    assert.match(plain.out, /^▸ sibyl-runner login/m);
    assert.match(plain.out, /Demo finished\./);
    // eslint-disable-next-line no-control-regex -- the escape sequence is what is looked for
    const escapes = plain.out.match(/\x1b\[[0-9;]*[A-Za-z]/g) ?? [];
    assert.deepEqual(escapes, [], 'no colour or other terminal control with NO_COLOR');
  });
});

test('projects link: one line on stdout, nothing on stderr', async () => {
  const home = tempDir();
  const repo = makeRepo(join(home, 'webapp'));
  const config = join(home, 'runner.yaml');
  const r = await cliRun(['projects', 'link', repo, 'project_1a2b3c4d', '--config', config], { HOME: home });
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout, `Linked project_1a2b3c4d → ${resolve(repo)}\n`);
  assert.equal(r.stderr, '', 'no log line beside it');
  const unlink = await cliRun(['projects', 'unlink', 'project_1a', '--config', config], { HOME: home });
  assert.equal(unlink.code, 0, unlink.stderr);
  assert.equal(unlink.stdout, `Unlinked project_1a2b3c4d (was ${resolve(repo)})\n`, 'a unique start of the id');
  assert.equal(unlink.stderr, '');
});
