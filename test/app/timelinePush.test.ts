import assert from 'node:assert/strict';
import { chmodSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, test } from 'node:test';
import YAML from 'yaml';
import { dispatch } from '../../main/app/dispatch.ts';
import { configureLogging } from '../../main/runner/logger.ts';
import type { AppState } from '../../preload/contract.ts';
import { testAppService, appHome } from '../helpers/appHarness.ts';
import { FakeCore } from '../helpers/fakeCore.ts';
import { makeRepo } from '../helpers/gitRepo.ts';

configureLogging({ quiet: true });

const STEPS = 400;

/**
 * Stands in for the `claude` executable: reads the prompt, then prints Claude Code's stream-json
 * for STEPS tool calls and their results as fast as a busy agent does (a line every ~2 ms), then
 * its result after a pause. The real CLI runs against a scripted model in test/renderer/timeline.test.ts; here
 * the point is the rate, which only a script can push this hard.
 */
const CHATTY = `
if (process.argv.includes('--version')) {
  console.log('2.1.0 (Claude Code)');
  process.exit(0);
}
process.stdin.resume();
process.stdin.on('end', async () => {
  const out = (o) => new Promise((r) => process.stdout.write(JSON.stringify(o) + '\\n', r));
  const pause = () => new Promise((r) => setTimeout(r, 2));
  for (let i = 0; i < ${STEPS}; i++) {
    await out({ type: 'assistant', message: { content: [{ type: 'tool_use', id: 't' + i, name: 'Read', input: { file_path: process.cwd() + '/f' + i + '.ts' } }] } });
    await pause();
    await out({ type: 'user', message: { content: [{ type: 'tool_result', tool_use_id: 't' + i, content: 'ok' }] } });
    await pause();
  }
  // The model writes its answer: the timeline is quiet for a moment before the end.
  await new Promise((r) => setTimeout(r, 400));
  await out({ type: 'result', subtype: 'success', is_error: false, result: 'Read them all.', num_turns: 1 });
});
`;

test('a chatty agent: the live timeline keeps its newest 30 steps and the window gets a few states a second, not one per line', async () => {
  const core = await FakeCore.start({ heartbeatIntervalMs: 0 });
  after(() => core.stop());
  const home = appHome('sibyl-timeline-');
  const configPath = join(home, 'cfg', 'runner.yaml');
  const service = await testAppService(home, { configPath });
  const call = async <T>(channel: string, input: unknown = {}): Promise<T> => {
    const r = await dispatch(service.handlers, channel, input);
    if (!r.ok) throw new Error(`${channel}: ${r.error.code} ${r.error.message}`);
    return r.value as T;
  };
  await call('wizard:useToken', { serverUrl: core.url, token: core.mintAccessToken() });
  const { runnerId } = await call<{ runnerId: string }>('wizard:register', {
    serverUrl: core.url,
    name: 'timeline-desk',
    maxAgents: 1,
    capabilities: ['node'],
    worktreeBase: join(home, 'worktrees'),
  });

  // Claude Code is this runner's agent; its executable is the chatty stand-in.
  const script = join(home, 'chatty.mjs');
  writeFileSync(script, CHATTY);
  const claude = join(home, 'claude');
  writeFileSync(claude, `#!/bin/sh\nexec '${process.execPath}' '${script}' "$@"\n`);
  chmodSync(claude, 0o755);
  const file = YAML.parse(readFileSync(configPath, 'utf8')) as Record<string, unknown>;
  writeFileSync(configPath, YAML.stringify({ ...file, agent: 'claude-code', agents: { 'claude-code': { command: claude } } }));
  await call('runner:restart');
  await core.until(() => core.connected(runnerId), 5000, 'the runner to connect');
  await call('projects:link', { path: makeRepo(join(home, 'code', 'app')), projectId: 'project_1' });

  const states: { at: number; state: AppState }[] = [];
  service.onEvent((event, payload) => {
    if (event === 'app:state') states.push({ at: performance.now(), state: payload as AppState });
  });
  const taskId = crypto.randomUUID();
  core.send(runnerId, {
    type: 'task_assign',
    task_id: taskId,
    agent_id: 'agent_timelinetime',
    project_id: 'project_1',
    config: { prompt: 'Read every file', agent_type: 'implementer' },
  });
  const done = await core.waitFor((f) => f.message?.type === 'task_complete', 30_000, 'the completion');
  assert.equal(done.message?.type === 'task_complete' && done.message.success, true, JSON.stringify(done.message));

  const withSteps = states.filter((s) => s.state.daemon?.running[0]?.steps?.length);
  assert.ok(withSteps.length > 0, 'steps reached the window');
  const first = withSteps[0]!.at;
  const last = withSteps.at(-1)!.at;
  // 800 step changes over ~2 s: at most one push per 250 ms for steps, plus the 1 s activity line and phase changes.
  const allowed = Math.ceil((last - first) / 250) + Math.ceil((last - first) / 1000) + 4;
  assert.ok(withSteps.length <= allowed, `${withSteps.length} pushes in ${Math.round(last - first)} ms (allowed ${allowed})`);
  assert.ok(withSteps.length >= 2, 'the timeline moved while the agent worked');
  for (const { state } of withSteps) {
    const steps = state.daemon!.running[0]!.steps!;
    assert.ok(steps.length <= 30, `${steps.length} steps in a view`);
    assert.deepEqual(
      steps.map((s) => Number(s.id.slice(1))),
      steps.map((s, i) => Number(steps[0]!.id.slice(1)) + i),
      'consecutive, oldest first, no step twice',
    );
    assert.ok(
      steps.every((s) => !('detail' in s)),
      'the detail stays out of the pushed view',
    );
  }
  const newest = withSteps.at(-1)!.state.daemon!.running[0]!.steps!;
  assert.equal(newest.length, 30);
  assert.equal(newest.at(-1)!.id, `t${STEPS - 1}`);
  assert.equal(newest.at(-1)!.title, `Reading f${STEPS - 1}.ts`);
  assert.ok(
    newest.slice(0, -1).every((s) => s.state === 'ok' && s.endedAt !== undefined),
    'finished steps carry their end',
  );
});
