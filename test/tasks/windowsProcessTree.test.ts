import assert from 'node:assert/strict';
import { test } from 'node:test';
import { AgentProcess } from '../../main/runner/tasks/agentProcess.ts';
import { killWindowsTree, windowsTreeKillCommand, type ExecFileFn } from '../../main/runner/tasks/processTree.ts';
import { isCmdScriptArgv, shellArgv } from '../../main/runner/tasks/taskSpec.ts';
import { processAlive as alive, tempDir } from '../helpers/tmp.ts';

// Windows cannot run here: the Windows branch is driven on this OS through the injected platform
// and tree killer, with real processes; the taskkill command itself is checked as data.

const env = { PATH: process.env.PATH ?? '/usr/bin:/bin' };

test('the tree kill on Windows is System32\\taskkill.exe /PID <pid> /T /F, bounded, never throws, and only exits 0 and 128 count', async () => {
  const taskkill = 'C:\\Windows\\System32\\taskkill.exe';
  assert.deepEqual(windowsTreeKillCommand(4242, 'C:\\Windows'), { file: taskkill, args: ['/PID', '4242', '/T', '/F'] });
  for (const bad of [0, 4, -1, 1.5, Number.NaN]) assert.throws(() => windowsTreeKillCommand(bad), RangeError);

  const calls: { file: string; args: readonly string[]; timeout: number; windowsHide: boolean }[] = [];
  const exiting =
    (code: number): ExecFileFn =>
    async (file, args, opts) => {
      calls.push({ file, args, ...opts });
      return code;
    };
  const saved = process.env.SystemRoot;
  process.env.SystemRoot = 'C:\\Windows';
  try {
    assert.equal(await killWindowsTree(4242, { exec: exiting(0), timeoutMs: 3000 }), true);
    assert.deepEqual(calls, [{ file: taskkill, args: ['/PID', '4242', '/T', '/F'], timeout: 3000, windowsHide: true }]);
    assert.equal(await killWindowsTree(4242, { exec: exiting(128) }), true, '128: the tree ended meanwhile');
    assert.equal(await killWindowsTree(4242, { exec: exiting(1) }), false, '1: access denied or partly failed: the caller falls back');
  } finally {
    if (saved === undefined) delete process.env.SystemRoot;
    else process.env.SystemRoot = saved;
  }

  const hung: ExecFileFn = () => new Promise(() => undefined);
  assert.equal(await killWindowsTree(4242, { exec: hung, timeoutMs: 50 }), false, 'a hung taskkill is given up on');
  // The real runner of the command: taskkill does not exist here, which is a failure, not a throw.
  assert.equal(await killWindowsTree(4242), false);
});

/** A tree killer standing in for taskkill: records each call, checks the agent was still alive, then ends it. */
function fakeTreeKill(opts: { ok?: boolean } = {}): {
  calls: { pid: number; aliveThen: boolean }[];
  fn: (pid: number) => Promise<boolean>;
} {
  const calls: { pid: number; aliveThen: boolean }[] = [];
  return {
    calls,
    fn: async (pid) => {
      calls.push({ pid, aliveThen: alive(pid) });
      if (opts.ok === false) return false;
      process.kill(pid, 'SIGKILL');
      return true;
    },
  };
}

/** An agent started as on Windows, its tree killer `tree`; `over` changes argv, timeouts and the like. */
function windowsAgent(
  tree: ReturnType<typeof fakeTreeKill>,
  over: Partial<ConstructorParameters<typeof AgentProcess>[0]> = {},
): AgentProcess {
  return new AgentProcess({
    argv: ['sleep', '300'],
    cwd: tempDir(),
    env,
    timeoutMs: 600_000,
    // A grace period would only delay the end on Windows: no signal reaches a console agent.
    cancelGraceMs: 600_000,
    platform: 'win32',
    killTree: tree.fn,
    ...over,
  });
}

test('Windows: cancel ends the whole tree through the agent at once, once, and waits for it', async () => {
  const tree = fakeTreeKill();
  const p = windowsAgent(tree);
  await p.started;
  p.stop('task_cancel');
  p.kill('task_cancel');
  const exit = await p.exited;
  assert.equal(exit.stoppedBy, 'task_cancel');
  assert.deepEqual(tree.calls, [{ pid: p.pid, aliveThen: true }], 'one taskkill, while /T could still find the tree');
  assert.equal(exit.signal, 'SIGKILL');
});

test('Windows: a timeout ends the tree too', async () => {
  const tree = fakeTreeKill();
  const p = windowsAgent(tree, { timeoutMs: 100, timeoutGraceMs: 600_000 });
  const exit = await p.exited;
  assert.equal(exit.stoppedBy, 'timeout');
  assert.equal(tree.calls.length, 1);
  assert.equal(tree.calls[0]?.pid, p.pid);
});

test('Windows: an agent that exits on its own is not tree-killed afterwards (its pid may be reused)', async () => {
  const tree = fakeTreeKill();
  const p = windowsAgent(tree, { argv: ['sh', '-c', 'exit 2'], timeoutMs: 60_000, drainMs: 20 });
  const exit = await p.exited;
  assert.equal(exit.exitCode, 2);
  assert.deepEqual(tree.calls, []);
});

test('Windows: when taskkill fails the agent itself is still ended', async () => {
  const tree = fakeTreeKill({ ok: false });
  const p = windowsAgent(tree);
  await p.started;
  p.stop('runner_shutdown');
  const exit = await p.exited;
  assert.equal(exit.stoppedBy, 'runner_shutdown');
  assert.equal(exit.signal, 'SIGKILL');
  assert.equal(tree.calls.length, 1);
});

test('a command string runs through cmd on Windows, quoted for cmd /s and passed verbatim', () => {
  const script = 'echo "a b" & type "%SIBYL_TASK_PROMPT_FILE%"';
  const argv = shellArgv(script, 'win32');
  assert.deepEqual(argv, ['cmd.exe', '/d', '/s', '/c', `"${script}"`]);
  // Verbatim, the command line is the arguments joined by spaces; /s strips exactly the outer quotes.
  assert.equal(argv.slice(1).join(' '), `/d /s /c "${script}"`);
  assert.equal(isCmdScriptArgv(argv), true);
  assert.equal(isCmdScriptArgv(['C:\\Windows\\System32\\CMD.EXE', '/d', '/s', '/c', '"dir"']), true);
  // A task's own argv list is left to Node's quoting, even when it names cmd.
  assert.equal(isCmdScriptArgv(['cmd.exe', '/c', 'dir']), false);
  assert.equal(isCmdScriptArgv(['cmd.exe', '/d', '/s', '/c', 'dir']), false);
  assert.equal(isCmdScriptArgv(['/bin/sh', '-lc', 'echo hi']), false);
  assert.deepEqual(shellArgv(script, 'linux'), ['/bin/sh', '-lc', script]);
  assert.deepEqual(shellArgv(script, 'darwin'), ['/bin/sh', '-lc', script]);
});
