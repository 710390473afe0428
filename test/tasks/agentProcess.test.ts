import assert from 'node:assert/strict';
import { test } from 'node:test';
import { AgentProcess } from '../../main/runner/tasks/agentProcess.ts';
import { LineSplitter } from '../../main/runner/tasks/lineSplitter.ts';
import { processAlive as alive, tempDir, until } from '../helpers/tmp.ts';

const env = { PATH: process.env.PATH ?? '/usr/bin:/bin' };

test('exit code, tails of both streams, and every line to onLine', async () => {
  const lines: string[] = [];
  const p = new AgentProcess({
    argv: ['/bin/sh', '-c', 'for i in $(seq 1 300); do echo out$i; done; echo err >&2; exit 3'],
    cwd: tempDir(),
    env,
    timeoutMs: 10_000,
    onLine: (s, l) => lines.push(`${s}:${l}`),
  });
  const exit = await p.exited;
  assert.equal(exit.exitCode, 3);
  assert.equal(exit.stdout.split('\n').length, 200);
  assert.equal(exit.stdout.split('\n')[0], 'out101');
  assert.equal(exit.stderr, 'err');
  assert.equal(lines.filter((l) => l.startsWith('stdout:')).length, 300);
});

test('cancel kills the whole process group, grandchildren included', async () => {
  const dir = tempDir();
  const p = new AgentProcess({
    argv: ['/bin/sh', '-c', 'sleep 300 & echo $! > grandchild.pid; wait'],
    cwd: dir,
    env,
    timeoutMs: 60_000,
    cancelGraceMs: 2000,
  });
  await p.started;
  const { readFileSync, existsSync } = await import('node:fs');
  await until(() => existsSync(`${dir}/grandchild.pid`) && readFileSync(`${dir}/grandchild.pid`, 'utf8').trim(), 'grandchild pid');
  const gpid = Number(readFileSync(`${dir}/grandchild.pid`, 'utf8'));
  assert.ok(alive(gpid));
  p.stop('task_cancel');
  const exit = await p.exited;
  assert.equal(exit.stoppedBy, 'task_cancel');
  await until(() => !alive(gpid), 'grandchild to die', 5000);
});

test('timeout: SIGTERM, then SIGKILL after the grace for an agent that ignores SIGTERM', async () => {
  const p = new AgentProcess({
    argv: ['/bin/sh', '-c', 'trap "" TERM; sleep 30'],
    cwd: tempDir(),
    env,
    timeoutMs: 300,
    timeoutGraceMs: 300,
  });
  const exit = await p.exited;
  assert.equal(exit.stoppedBy, 'timeout');
  assert.ok(exit.durationS < 10, `took ${exit.durationS}s`);
});

test('a backgrounded grandchild does not outlive a normally finished agent', async () => {
  const dir = tempDir();
  const p = new AgentProcess({ argv: ['/bin/sh', '-c', 'sleep 300 >/dev/null 2>&1 & echo $!'], cwd: dir, env, timeoutMs: 60_000 });
  const exit = await p.exited;
  assert.equal(exit.exitCode, 0);
  const gpid = Number(exit.stdout.trim());
  await until(() => !alive(gpid), 'orphan to be killed', 5000);
});

test('a missing executable is a failure, not a success (R13)', async () => {
  const p = new AgentProcess({ argv: ['/nonexistent/agent-binary'], cwd: tempDir(), env, timeoutMs: 1000 });
  const exit = await p.exited;
  assert.equal(exit.spawnError, 'command not found: /nonexistent/agent-binary');
  assert.equal(exit.exitCode, null);
});

test('line splitter: no unbounded lines, partial chunks joined, CRLF and empty lines handled', () => {
  const out: string[] = [];
  const s = new LineSplitter((l) => out.push(l), 10);
  s.push(Buffer.from('ab'));
  s.push(Buffer.from('c\r\n\n  \nx'.padEnd(30, 'y')));
  s.push(Buffer.from([0xe2, 0x82]));
  s.push(Buffer.from([0xac, 0x0a]));
  s.end();
  assert.equal(out[0], 'abc');
  assert.ok(out.every((l) => l.length <= 10));
  assert.ok(out.join('').includes('€'));
});

test('progress without newlines reaches onPartial: the text after the last \\r, throttled, then the line', async () => {
  const partials: string[] = [];
  const lines: string[] = [];
  const p = new AgentProcess({
    argv: ['/bin/sh', '-c', 'for i in 1 2 3 4 5; do printf "\\rdownloading $i%%"; sleep 0.3; done; printf "\\rdone\\n"'],
    cwd: tempDir(),
    env,
    timeoutMs: 10_000,
    onPartial: (s, t) => partials.push(`${s}:${t}`),
    onLine: (s, l) => lines.push(`${s}:${l}`),
  });
  const exit = await p.exited;
  assert.equal(exit.exitCode, 0);
  assert.ok(partials.length >= 2, `several partials: ${JSON.stringify(partials)}`);
  assert.ok(
    partials.every((t) => /^stdout:downloading [1-5]%$/.test(t)),
    JSON.stringify(partials),
  );
  assert.equal(partials.at(-1), 'stdout:downloading 5%');
  assert.equal(new Set(partials).size, partials.length, 'no repeats');
  assert.equal(lines.length, 1);
});

test('line splitter: visiblePartial is what a terminal shows of the unterminated line, bounded', () => {
  const s = new LineSplitter(() => undefined);
  assert.equal(s.visiblePartial(), '');
  s.push(Buffer.from('line\n\r 10%\r 20% '));
  assert.equal(s.visiblePartial(), '20%');
  s.push(Buffer.from('\r'));
  assert.equal(s.visiblePartial(), '20%', 'a trailing \\r has not redrawn yet');
  s.push(Buffer.from('x'.repeat(5000)));
  assert.equal(s.visiblePartial().length, 2048);
  s.push(Buffer.from('\n'));
  assert.equal(s.visiblePartial(), '');
});
