// An agent's prompt file and scratch folder (TMPDIR) live in the state folder while it runs and are
// gone once its result is reported: an empty folder and one the agent filled alike.
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { configureLogging } from '../../main/runner/logger.ts';
import { assign, completionOf, startHarness } from '../helpers/runnerHarness.ts';
import { until } from '../helpers/tmp.ts';

configureLogging({ quiet: true });

test("the prompt file and the scratch folder are removed at the task's end, whether the agent left files there or not", async () => {
  const { core, runnerId, config } = await startHarness();
  const scratchOf = (taskId: string): string[] => [
    join(config.state_dir, 'prompts', `${taskId}.txt`),
    join(config.state_dir, 'tmp', taskId),
  ];
  const empty = assign(runnerId, core, { command: ['/bin/sh', '-c', 'test -d "$TMPDIR"'] }, { prompt: 'nothing to keep' });
  const filled = assign(
    runnerId,
    core,
    { command: ['/bin/sh', '-c', 'mkdir -p "$TMPDIR/cache/deep" && echo x > "$TMPDIR/cache/deep/file" && ln -s / "$TMPDIR/root"'] },
    { prompt: 'leave files behind' },
  );
  for (const taskId of [empty, filled]) {
    await until(() => completionOf(core, taskId).length === 1, `the result of ${taskId}`);
    assert.equal(completionOf(core, taskId)[0]!.success, true, JSON.stringify(completionOf(core, taskId)[0]));
  }
  for (const taskId of [empty, filled])
    await until(() => scratchOf(taskId).every((p) => !existsSync(p)), `the scratch files of ${taskId} removed`);
  assert.ok(existsSync('/bin/sh'), 'the symlink was removed, not followed');
});
