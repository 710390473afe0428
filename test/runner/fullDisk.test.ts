import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { closeSync, mkdirSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { FakeCore } from '../helpers/fakeCore.ts';
import { agentGate, cli, cliRun, completionOf, heartbeatRoundTrip, writeYaml } from '../helpers/runnerHarness.ts';
import { tempDir, until } from '../helpers/tmp.ts';

/**
 * Issue 12, case 14: the state folder's disk fills up. A real full filesystem: a 2 MiB tmpfs
 * mounted for the test (needs root, or CAP_SYS_ADMIN; elsewhere the test says why it skips).
 */

function mountSmallDisk(dir: string): string | undefined {
  if (process.platform !== 'linux') return 'needs a Linux tmpfs';
  if (process.getuid?.() !== 0) return 'needs root to mount a small tmpfs (a real full disk)';
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=2m,mode=0700', 'tmpfs', dir], { stdio: 'pipe' });
  } catch (err) {
    return `cannot mount a tmpfs here: ${(err as Error).message.split('\n')[0]}`;
  }
  after(() => {
    execFileSync('umount', ['-l', dir], { stdio: 'ignore' });
    rmSync(dir, { recursive: true, force: true });
  });
  return undefined;
}

/** Write zeros until the disk says ENOSPC; returns the filler's path. */
function fill(dir: string): string {
  const path = join(dir, 'filler');
  const fd = openSync(path, 'w');
  const block = Buffer.alloc(64 * 1024);
  try {
    for (;;) writeSync(fd, block);
  } catch (err) {
    assert.equal((err as NodeJS.ErrnoException).code, 'ENOSPC');
  } finally {
    closeSync(fd);
  }
  // Small writes can still fit into a partly used block: take those too.
  const fd2 = openSync(path, 'a');
  try {
    for (;;) writeSync(fd2, Buffer.alloc(512));
  } catch {
    /* full */
  } finally {
    closeSync(fd2);
  }
  return path;
}

// Not tempDir(): the folder must outlive the mount, which is undone first.
const disk = mkdtempSync(join(tmpdir(), 'sibyl-fulldisk-'));
const skip = mountSmallDisk(disk);
if (skip) {
  rmSync(disk, { recursive: true, force: true });
  console.log(`# full-disk test skipped: ${skip}`);
}

test(
  'state folder full: every assignment is answered, no slot leaks, results are sent from memory and journaled once space returns',
  { skip },
  async () => {
    const core = await FakeCore.start({ heartbeatIntervalMs: 0 });
    after(() => core.stop());
    const home = tempDir();
    const { id, accessToken } = core.addRunner({ name: 'full-disk' });
    mkdirSync(join(home, 'cfg'), { recursive: true });
    const config = join(home, 'cfg', 'runner.yaml');
    const state = join(disk, 'state');
    writeYaml(config, {
      server_url: core.url,
      runner_id: id,
      name: 'full-disk',
      worktree_base: join(home, 'wt'),
      log_dir: join(disk, 'logs'),
      state_dir: state,
      reconnect_interval: 0.1,
    });
    const env = { HOME: home, SIBYL_ACCESS_TOKEN: accessToken };
    const runner = cli(['run', '--config', config], env);
    await core.until(() => core.connected(id), 10_000, 'runner connects');

    const filler = fill(disk);
    const assign = (command: string[]): string => {
      const taskId = crypto.randomUUID();
      core.send(id, { type: 'task_assign', task_id: taskId, agent_id: 'agent_0123456789ab', project_id: 'project_1', config: { command } });
      return taskId;
    };
    // The journal's last page still has room for a few lines: run short tasks until it is refused.
    const warmups: string[] = [];
    while (!runner.output().stderr.includes('cannot write the journal')) {
      assert.ok(warmups.length < 50, 'the journal never hit the full disk');
      const t = assign(['/bin/true']);
      warmups.push(t);
      await until(() => completionOf(core, t).length === 1, 'a short task to finish');
    }
    // Assigned while the journal cannot be written, and finishing while it still cannot.
    const gate = agentGate();
    const first = assign(['/bin/sh', '-c', `${gate.waitScript}; echo first`]);
    await core.waitFor((f) => f.message?.type === 'task_ack' && f.message.task_id === first, 10_000, 'the ack despite the full disk');
    gate.open();
    await until(() => completionOf(core, first).length === 1, 'the result, sent from memory');
    assert.equal(completionOf(core, first)[0]?.result.status, 'completed');
    const second = assign(['/bin/sh', '-c', 'echo second']);
    await until(() => completionOf(core, second).length === 1, 'a second task on the same slot');

    rmSync(filler);
    // Once the disk takes writes again, the journal holds both results (nothing for recovery to re-report).
    await until(() => {
      let lines: { k?: string; task_id?: string }[];
      try {
        lines = readFileSync(join(state, 'journal.jsonl'), 'utf8')
          .split('\n')
          .filter(Boolean)
          .map((l) => JSON.parse(l) as { k?: string; task_id?: string });
      } catch {
        return false;
      }
      return [...warmups, first, second].every((t) => lines.some((l) => l.k === 'finished' && l.task_id === t));
    }, 'the journal written after space returned');
    const status = JSON.parse((await cliRun(['status', '--json', '--config', config], env)).stdout) as {
      daemon: { running: unknown[]; outboxPending: number } | null;
    };
    assert.equal(status.daemon?.running.length, 0, 'no slot held');
    runner.kill('SIGTERM');
    assert.equal(await new Promise((r) => runner.on('close', r)), 0);
    if (process.env.SIBYL_TEST_DEBUG) writeFileSync(process.env.SIBYL_TEST_DEBUG, runner.output().stderr + runner.output().stdout);

    // A restart finds both tasks finished: no runner_restarted report, no second result.
    const again = cli(['run', '--config', config], env);
    await core.until(() => core.handshakes.filter((h) => h.outcome === 'accepted').length >= 2, 10_000, 'the restarted runner connects');
    await heartbeatRoundTrip(core, id);
    await until(async () => {
      const s = JSON.parse((await cliRun(['status', '--json', '--config', config], env)).stdout) as {
        daemon: { outboxPending: number } | null;
      };
      return s.daemon?.outboxPending === 0;
    }, 'the restarted runner to have nothing to send');
    await heartbeatRoundTrip(core, id);
    for (const t of [...warmups, first, second]) assert.equal(completionOf(core, t).length, 1, `one result for ${t}`);
    assert.ok(!core.messagesOf('task_complete').some((m) => m.error === 'runner_restarted'));
    const history = await cliRun(['history', '--json', '--config', config], env);
    assert.equal(history.code, 0, history.stderr);
    again.kill('SIGTERM');
    assert.equal(await new Promise((r) => again.on('close', r)), 0);
  },
);
