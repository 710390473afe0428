import assert from 'node:assert/strict';
import { statSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { openTaskLog, readTaskLog } from '../../main/runner/tasks/taskLog.ts';
import { assign, completionOf, startHarness } from '../helpers/runnerHarness.ts';
import { tempDir, until } from '../helpers/tmp.ts';

test('a fast agent is slowed by backpressure, not truncated: every line reaches its log, memory stays bounded', async () => {
  const logDir = tempDir();
  const writers: ReturnType<typeof openTaskLog>[] = [];
  const { core, runnerId } = await startHarness({
    daemon: {
      openLog: (taskId) => {
        const path = join(logDir, `${taskId}.log`);
        const writer = openTaskLog(path, { maxPendingBytes: 1024 * 1024 });
        writers.push(writer);
        return { path, writer };
      },
    },
  });
  const lines = 200_000;
  const taskId = assign(runnerId, core, { command: ['/bin/sh', '-c', `seq 1 ${lines}`] });
  await until(() => completionOf(core, taskId).length, 'completion', 60_000);
  const done = completionOf(core, taskId)[0]!;
  assert.equal(done.success, true);
  const path = join(logDir, `${taskId}.log`);
  assert.equal(done.result.log_path, path);
  const { lines: logged, truncated } = await readTaskLog(path);
  const out = logged.filter((l) => l.stream === 'stdout');
  assert.equal(truncated, false);
  assert.equal(out.length, lines, 'no line dropped');
  assert.equal(out.at(-1)?.text, String(lines));
  assert.ok(logged.some((l) => l.stream === 'runner' && /agent ended: completed/.test(l.text)));
  assert.ok(statSync(path).size > 0);
  assert.equal(writers[0]!.droppedLines, 0);
  assert.ok(writers[0]!.peakPendingBytes <= 1024 * 1024, `pending bytes stayed bounded (peak ${writers[0]!.peakPendingBytes})`);
});
