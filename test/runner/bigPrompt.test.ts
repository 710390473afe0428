import assert from 'node:assert/strict';
import { chmodSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { git } from '../helpers/gitRepo.ts';
import { assign, completionOf, startHarness } from '../helpers/runnerHarness.ts';
import { tempDir, until } from '../helpers/tmp.ts';
import { PROJECT, setup } from '../helpers/workspaceFixture.ts';

/**
 * Issue 12, case 12: a prompt over 128 KiB (Linux refuses a single argv or environment string
 * longer than that with E2BIG) reaches every kind of agent whole — by file or stdin — and what
 * still cannot start is a clear, non-retryable failure.
 */

/** 140 KiB on one line, with multi-byte characters (so a cut by characters would still be too long) and a NUL. */
const PROMPT = `${'Fix the parser. '.repeat(8192)}${'é'.repeat(4 * 1024)}\u0000${'z'.repeat(6 * 1024)}`;
const PROMPT_BYTES = Buffer.byteLength(PROMPT);

/** An executable script in a fresh folder; `--version` answers so the runner counts it as installed. */
function fakeAgent(name: string, body: string): string {
  const path = join(tempDir('sibyl-fake-agent-'), name);
  writeFileSync(path, `#!/bin/sh\nif [ "$1" = --version ]; then echo "${name} 1.0"; exit 0; fi\n${body}\n`);
  chmodSync(path, 0o755);
  return path;
}

const sizeOfFile = 'wc -c < "$SIBYL_TASK_PROMPT_FILE"; printf %s "$SIBYL_TASK_PROMPT" | wc -c';

test('a 140 KiB prompt reaches a task command (list or shell string) and exec_command whole, by file', async () => {
  assert.ok(PROMPT_BYTES > 140 * 1024);
  const { core, runnerId } = await startHarness({
    daemon: { env: { PATH: '/usr/bin:/bin' } },
    config: { exec_command: sizeOfFile, max_concurrent_agents: 4 },
  });
  const tasks = {
    list: assign(runnerId, core, { prompt: PROMPT, command: ['/bin/sh', '-c', sizeOfFile] }),
    string: assign(runnerId, core, { prompt: PROMPT, command: sizeOfFile }),
    exec_command: assign(runnerId, core, { prompt: PROMPT }),
    // The prompt in the task's title and description (Variant B shape), no prompt field.
    description: assign(runnerId, core, { command: ['/bin/sh', '-c', sizeOfFile] }, { title: 'Big', description: PROMPT }),
  };
  await until(() => Object.values(tasks).every((t) => completionOf(core, t).length), 'every completion', 20_000);
  for (const [kind, taskId] of Object.entries(tasks)) {
    const done = completionOf(core, taskId)[0]!;
    assert.equal(done.success, true, `${kind}: ${done.error}`);
    const [fileBytes, envBytes] = String(done.result.stdout)
      .split('\n')
      .map((l) => Number(l.trim()));
    const expected = kind === 'description' ? Buffer.byteLength(`Big\n\n${PROMPT}`) : PROMPT_BYTES;
    assert.equal(
      fileBytes,
      expected,
      `${kind}: the prompt file holds the whole prompt; stdout ${JSON.stringify(done.result.stdout)}, stderr ${JSON.stringify(done.result.stderr)}`,
    );
    assert.ok(envBytes! <= 64 * 1024 && envBytes! > 0, `${kind}: SIBYL_TASK_PROMPT keeps its start only (${envBytes} bytes)`);
  }
});

test('a 140 KiB prompt reaches agent presets whole: on stdin (Gemini CLI) and as a file (Aider)', async () => {
  // Each fake agent prints how many bytes of prompt it was handed, and its argv's total length.
  const gemini = fakeAgent('gemini', 'wc -c; echo "argv $(printf %s "$*" | wc -c)"');
  const aider = fakeAgent('aider', 'wc -c < "$2"; echo "argv $(printf %s "$*" | wc -c)"');
  const { core, runnerId } = await startHarness({
    daemon: { env: { PATH: '/usr/bin:/bin' } },
    config: { agents: { by_agent_type: { tester: 'gemini', reviewer: 'aider' }, gemini: { command: gemini }, aider: { command: aider } } },
  });
  const onStdin = assign(runnerId, core, { prompt: PROMPT, agent_type: 'tester' });
  const inFile = assign(runnerId, core, { prompt: PROMPT, agent_type: 'reviewer' });
  await until(() => completionOf(core, onStdin).length && completionOf(core, inFile).length, 'both completions', 20_000);
  for (const [taskId, agent] of [
    [onStdin, 'gemini'],
    [inFile, 'aider'],
  ] as const) {
    const done = completionOf(core, taskId)[0]!;
    assert.equal(done.success, true, `${agent}: ${done.error}`);
    assert.equal(done.result.agent, agent);
    const [bytes, argv] = String(done.result.stdout).split('\n');
    // Gemini gets the task context, a blank line, then the prompt on stdin.
    assert.ok(Number(bytes) >= PROMPT_BYTES, `${agent}: the whole prompt arrived (${bytes} bytes)`);
    assert.ok(Number(argv?.replace('argv ', '')) < 4096, `${agent}: the prompt is not in argv (${argv})`);
  }
});

test('auto-commit of a 140 KiB one-line prompt: the commit subject is cut, the work committed', async () => {
  const fx = await setup();
  const { core, runnerId } = await startHarness({
    daemon: { env: { PATH: '/usr/bin:/bin' }, workspaces: fx.ws },
    config: { worktree_base: fx.base },
  });
  const taskId = assign(runnerId, core, { prompt: PROMPT, command: ['/bin/sh', '-c', 'echo done > result.txt'] });
  await until(() => completionOf(core, taskId).length, 'completion', 20_000);
  const done = completionOf(core, taskId)[0]!;
  assert.equal(done.success, true, done.error);
  const sha = String(done.result.auto_commit);
  assert.match(sha, /^[0-9a-f]{40}$/);
  const subject = git(fx.pair.checkout, 'log', '-1', '--format=%s', sha);
  assert.ok(subject.startsWith('Fix the parser.') && subject.length <= 72, subject);
  assert.equal(git(fx.pair.checkout, 'show', `${sha}:result.txt`), 'done');
  assert.equal(done.result.worktree_path, join(fx.base, PROJECT, taskId));
});

test('a command that is itself too long to start: failed, not retryable, and the error says why', async () => {
  const { core, runnerId } = await startHarness({ daemon: { env: { PATH: '/usr/bin:/bin' } } });
  const taskId = assign(runnerId, core, { prompt: 'short', command: ['/bin/echo', 'x'.repeat(200 * 1024)] });
  await until(() => completionOf(core, taskId).length, 'completion');
  const done = completionOf(core, taskId)[0]!;
  assert.equal(done.result.status, 'failed');
  assert.equal(done.success, false);
  assert.equal(done.retryable, false, 'it fails the same on every runner');
  assert.match(done.error ?? '', /too large to start/);
  assert.match(done.error ?? '', /E2BIG/);
  assert.match(done.error ?? '', /SIBYL_TASK_PROMPT_FILE/);
});
