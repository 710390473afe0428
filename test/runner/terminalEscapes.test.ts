import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { test } from 'node:test';
import { terminalSafe } from '../../main/runner/terminalText.ts';
import { agentGate, cli, cliRun, completionOf, registeredRunner } from '../helpers/runnerHarness.ts';
import { tempDir, until } from '../helpers/tmp.ts';

/**
 * What the agent prints (printf format, octal escapes) and how `logs` shows each line: the window
 * title (OSC 0), the clipboard (OSC 52), clearing the screen (CSI 2J, ESC c), the one-character
 * C1 CSI and OSC (U+009B, U+009D in UTF-8), backspaces, a right-to-left override; a tab stays a
 * tab. (A carriage return never reaches the log: the runner ends a line there, as a redrawn
 * progress line; `terminalSafe` still makes one visible in any other text.)
 */
const LINES: [printf: string, raw: string, shown: string][] = [
  ['title:\\033]0;pwned-title\\007', 'title:\x1b]0;pwned-title\x07', 'title:␛]0;pwned-title␇'],
  ['clip:\\033]52;c;cHduZWQ=\\007', 'clip:\x1b]52;c;cHduZWQ=\x07', 'clip:␛]52;c;cHduZWQ=␇'],
  ['clear:\\033[2J\\033c', 'clear:\x1b[2J\x1bc', 'clear:␛[2J␛c'],
  ['c1:\\302\\2332J\\302\\2350;t\\007', 'c1:\u009b2J\u009d0;t\x07', 'c1:\\x9b2J\\x9d0;t␇'],
  ['bs:ab\\010\\010XY', 'bs:ab\b\bXY', 'bs:ab␈␈XY'],
  ['bidi:\\342\\200\\256exe.txt', 'bidi:\u202eexe.txt', 'bidi:\\u202eexe.txt'],
  ['tab:a\\tb', 'tab:a\tb', 'tab:a\tb'],
];
const PROMPT = 'Fix it\x1b]0;prompt-title\x07 now\x1b[2J\u009b3J\u202e';
const PROMPT_SHOWN = 'Fix it␛]0;prompt-title␇ now␛[2J\\x9b3J\\u202e';

/** Characters a terminal acts on; none may reach it from agent output unless --raw. */
// eslint-disable-next-line no-control-regex -- finding control characters is the point
const ACTIVE = /[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]/;

function exitOf(child: ChildProcess): Promise<number | null> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve(child.exitCode);
  return new Promise((r) => child.on('close', (code) => r(code)));
}

/** stdout lines of `logs` that carry the agent's output, without timestamp and stream. */
function agentLines(stdout: string): string[] {
  return stdout
    .split('\n')
    .filter((l) => / stdout /.test(l))
    .map((l) => l.replace(/^\S+ stdout +/, ''));
}

test('terminalSafe: controls visible (also a CR inside a line), tabs and newlines kept, a line-ending CR (CRLF) dropped, plain text untouched', () => {
  assert.equal(terminalSafe('plain text, ünïcode → ok'), 'plain text, ünïcode → ok');
  assert.equal(terminalSafe('a\tb\nc'), 'a\tb\nc');
  assert.equal(terminalSafe('dos line\r\nnext\r'), 'dos line\nnext');
  assert.equal(terminalSafe('safe\rEVIL'), 'safe␍EVIL', 'a carriage return that would overwrite the line');
  assert.equal(terminalSafe('\x00\x1b\x7f\u0080\u009f\u2066\u2069'), '␀␛␡\\x80\\x9f\\u2066\\u2069');
});

test('logs, history and status show escape sequences from agents and prompts as visible text; --raw and --json keep them', async () => {
  const { core, id, config, env } = await registeredRunner();
  const run = cli(['run', '--config', config, '--quiet'], env);
  await core.until(() => core.connected(id), 10_000, 'the runner connects');
  const gate = agentGate();
  const taskId = crypto.randomUUID();
  const printf = LINES.map(([f]) => f).join('\\n') + '\\n';
  core.send(id, {
    type: 'task_assign',
    task_id: taskId,
    agent_id: 'agent_aaaaaaaaaaaa',
    project_id: 'project_1',
    config: { command: ['/bin/sh', '-c', `printf "$1"; ${gate.waitScript}`, 'sh', printf], prompt: PROMPT },
  });

  // status while it runs: the prompt's controls are visible, none is active.
  const status = await until(async () => {
    const r = await cliRun(['status', '--config', config], env);
    return r.stdout.includes(taskId.slice(0, 8)) ? r : undefined;
  }, 'status lists the running task');
  assert.ok(status.stdout.includes(PROMPT_SHOWN), status.stdout);
  assert.doesNotMatch(status.stdout, ACTIVE);
  const statusJson = await cliRun(['status', '--json', '--config', config], env);
  assert.doesNotMatch(statusJson.stdout, ACTIVE);
  const daemon = (JSON.parse(statusJson.stdout) as { daemon: { running: { prompt: string }[] } }).daemon;
  assert.equal(daemon.running[0]?.prompt, PROMPT, '--json escapes, the parsed value is the prompt as sent');

  // logs --follow while it runs (it prints until the task ends).
  const follow = cli(['logs', taskId, '--follow', '--config', config], env);
  await until(() => follow.output().stdout.includes('tab:a'), 'logs --follow prints the agent output');
  gate.open();
  await until(() => completionOf(core, taskId).length > 0, 'the task completes');
  assert.equal(await exitOf(follow), 0, follow.output().stderr);
  assert.deepEqual(
    agentLines(follow.output().stdout),
    LINES.map(([, , shown]) => shown),
  );
  assert.doesNotMatch(follow.output().stdout, ACTIVE);

  const logs = await cliRun(['logs', taskId, '--config', config], env);
  assert.equal(logs.code, 0, logs.stderr);
  assert.deepEqual(
    agentLines(logs.stdout),
    LINES.map(([, , shown]) => shown),
  );
  assert.doesNotMatch(logs.stdout, ACTIVE);
  const raw = await cliRun(['logs', taskId, '--raw', '--config', config], env);
  assert.deepEqual(
    agentLines(raw.stdout),
    LINES.map(([, r]) => r),
    '--raw prints the lines as stored',
  );

  // The table cuts prompts to fit 100 columns after making them visible; --full shows them whole.
  const history = await cliRun(['history', '--config', config], env);
  assert.equal(history.code, 0, history.stderr);
  assert.ok(history.stdout.includes(PROMPT_SHOWN.slice(0, 24)), history.stdout);
  assert.doesNotMatch(history.stdout, ACTIVE);
  const full = await cliRun(['history', '--full', '--config', config], env);
  assert.ok(full.stdout.includes(PROMPT_SHOWN), full.stdout);
  assert.doesNotMatch(full.stdout, ACTIVE);
  const historyRaw = await cliRun(['history', '--full', '--raw', '--config', config], env);
  assert.ok(historyRaw.stdout.includes(PROMPT), '--raw keeps the prompt as sent');
  const historyJson = await cliRun(['history', '--json', '--config', config], env);
  assert.doesNotMatch(historyJson.stdout, ACTIVE);
  assert.equal((JSON.parse(historyJson.stdout) as { prompt: string }[])[0]?.prompt, PROMPT);

  run.kill('SIGTERM');
  assert.equal(await exitOf(run), 0);
});

test('register and login: a server error quoting escape sequences reaches the terminal visible, not active', async (t) => {
  const hostile = `nope${PROMPT}`;
  const server = createServer((_req, res) => {
    res.writeHead(400, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ detail: hostile }));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  t.after(() => server.close());
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const home = tempDir('sibyl-escapes-');
  for (const argv of [
    ['register', '--server', url, '--token', 'a-token-for-nobody', '--config', join(home, 'r.yaml')],
    ['login', '--server', url, '--token', 'a-token-for-nobody', '--config', join(home, 'l.yaml')],
  ]) {
    const r = await cliRun(argv, { HOME: home });
    assert.notEqual(r.code, 0, `${argv[0]} fails`);
    assert.ok(r.stderr.includes('nopeFix it␛]0;prompt-title␇'), `${argv[0]} quotes the server:\n${r.stderr}`);
    assert.doesNotMatch(r.stdout + r.stderr, ACTIVE, `${argv[0]} printed an active control character`);
  }
});
