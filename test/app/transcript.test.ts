import assert from 'node:assert/strict';
import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { after, test } from 'node:test';
import type { AppService } from '../../main/app/appService.ts';
import { dispatch } from '../../main/app/dispatch.ts';
import { defaultConfig } from '../../main/runner/config/schema.ts';
import { historyBackend } from '../../main/runner/history/historyBackend.ts';
import { finishedPatch } from '../../main/runner/history/historyStore.ts';
import { configureLogging } from '../../main/runner/logger.ts';
import { openHistory, taskLogDir } from '../../main/runner/services.ts';
import { openTaskLog, taskLogPath, type LogStream } from '../../main/runner/tasks/taskLog.ts';
import type { IpcResult, Transcript } from '../../preload/contract.ts';
import { testAppService } from '../helpers/appHarness.ts';
import { tempDir } from '../helpers/tmp.ts';

configureLogging({ quiet: true });

/** Real output of the CLIs (test/agents/fixtures), as the runner logged it while the agent ran. */
const fixture = (name: string): string[] =>
  readFileSync(join(import.meta.dirname, '..', 'agents', 'fixtures', name), 'utf8')
    .split('\n')
    .filter((l) => l.trim());

const WORKTREE = '/tmp/sibyl-fixture/wt';

/**
 * A runner's state folder with finished tasks: each has a history row and a task log written by the
 * runner's own log writer (a header, the agent's stdout and stderr, the end line).
 */
async function setup(): Promise<{
  service: AppService;
  addTask: (taskId: string, agent: string, lines: [LogStream, string][]) => Promise<string>;
}> {
  const home = tempDir('sibyl-transcript-');
  const config = defaultConfig(home);
  const store = openHistory(config);
  after(() => store.close());
  const service = await testAppService(home, { history: historyBackend(store) });
  const addTask = async (taskId: string, agent: string, lines: [LogStream, string][]): Promise<string> => {
    const logPath = taskLogPath(taskLogDir(config), taskId);
    const log = openTaskLog(logPath);
    log.write('runner', `workspace ${WORKTREE}; agent ${agent}; command ["${agent}"]`);
    for (const [stream, text] of lines) log.write(stream, text);
    log.write('runner', 'agent ended: completed, exit code 0');
    await log.close();
    store.upsert({ taskId, agentId: 'agent_1', projectId: 'project_1', prompt: 'Create hello.txt', assignedAt: Date.now() - 5000 });
    store.upsert(
      finishedPatch({
        type: 'task_complete',
        task_id: taskId,
        success: true,
        retryable: false,
        result: { status: 'completed', exit_code: 0, worktree_path: WORKTREE, duration_s: 1, log_path: logPath, agent },
      }),
    );
    return logPath;
  };
  return { service, addTask };
}

async function transcript(service: AppService, taskId: string): Promise<IpcResult<Transcript>> {
  return (await dispatch(service.handlers, 'tasks:transcript', { taskId })) as IpcResult<Transcript>;
}

test('tasks:transcript replays a Claude Code log: steps in words with their outcome, detail and duration, then the final message', async () => {
  const { service, addTask } = await setup();
  await addTask('claude-task', 'claude-code', [
    ...fixture('claude-code-stream.jsonl').map((l): [LogStream, string] => ['stdout', l]),
    // stderr is diagnostics: never part of the transcript, even when it looks like an event.
    ['stderr', JSON.stringify({ type: 'assistant', message: { content: [{ type: 'text', text: 'from stderr' }] } })],
  ]);
  const r = await transcript(service, 'claude-task');
  assert.ok(r.ok, JSON.stringify(r));
  const { agent, entries, omitted } = r.value;
  assert.equal(agent, 'claude-code');
  assert.equal(omitted, 0);
  assert.deepEqual(
    entries.map((e) => (e.kind === 'step' ? [e.kind, e.title, e.tool, e.state] : [e.kind, e.text])),
    [
      ['step', 'Writing hello.txt', 'Write', 'ok'],
      ['step', 'Running: ls', 'Bash', 'ok'],
      ['message', 'Wrote hello.txt.'],
    ],
  );
  const [write, ls] = entries;
  assert.ok(write?.kind === 'step' && ls?.kind === 'step');
  assert.match(
    write.detail ?? '',
    /^file_path: \/tmp\/sibyl-fixture\/wt\/hello\.txt\ncontent: hello from the model\n\nFile created successfully/,
  );
  assert.equal(ls.detail, 'command: ls\ndescription: List files\n\nREADME.md\nhello.txt');
  for (const e of entries) assert.match(e.at, /^\d{4}-\d\d-\d\dT[\d:.]+Z$/);
  assert.ok(write.durationMs !== null && write.durationMs >= 0 && write.durationMs < 5000, String(write.durationMs));
  assert.ok(Date.parse(write.at) <= Date.parse(ls.at), 'oldest first');
});

test('tasks:transcript: Codex too; nothing for a command task; a step that never finished; errors for an unknown task or a lost log', async () => {
  const { service, addTask } = await setup();
  await addTask(
    'codex-task',
    'codex',
    fixture('codex-exec.jsonl').map((l) => ['stdout', l]),
  );
  const codex = await transcript(service, 'codex-task');
  assert.ok(codex.ok);
  assert.deepEqual(
    codex.value.entries.map((e) => (e.kind === 'step' ? [e.title, e.state] : [e.text])),
    [['Running: printf "hello from codex\\n" > hello.txt && ls', 'ok'], ['Wrote hello.txt.']],
  );

  await addTask('plain-task', 'command', [['stdout', JSON.stringify({ type: 'assistant', message: { content: [] } })]]);
  assert.deepEqual(await transcript(service, 'plain-task'), { ok: true, value: { agent: 'command', entries: [], omitted: 0 } });

  // Cancelled mid-call: the step stays running, with no duration.
  await addTask('cut-task', 'claude-code', [
    [
      'stdout',
      JSON.stringify({
        type: 'assistant',
        message: { content: [{ type: 'tool_use', id: 't', name: 'Bash', input: { command: 'npm test' } }] },
      }),
    ],
  ]);
  const cut = await transcript(service, 'cut-task');
  assert.ok(cut.ok);
  assert.deepEqual(cut.value.entries, [
    {
      kind: 'step',
      at: cut.value.entries[0]!.at,
      title: 'Running: npm test',
      tool: 'Bash',
      state: 'running',
      durationMs: null,
      detail: 'command: npm test',
    },
  ]);

  const unknown = await transcript(service, 'no-such-task');
  assert.equal(!unknown.ok && unknown.error.code, 'not_found');
  const logPath = await addTask('lost-task', 'claude-code', []);
  rmSync(logPath);
  const lost = await transcript(service, 'lost-task');
  assert.equal(!lost.ok && lost.error.code, 'not_found');
  assert.match(!lost.ok ? lost.error.message : '', /cannot be read/);
  const bad = await dispatch(service.handlers, 'tasks:transcript', { taskId: '' });
  assert.equal(!bad.ok && bad.error.code, 'bad_input');
});

test('tasks:transcript of a very long run keeps the newest 2,000 entries and says how many were left out', async () => {
  const { service, addTask } = await setup();
  const lines: [LogStream, string][] = [];
  // Every call first, then every result (a model that asked for many reads at once): results of
  // calls already left out must not come back as entries of their own.
  for (let i = 0; i < 4500; i++)
    lines.push([
      'stdout',
      JSON.stringify({
        type: 'assistant',
        message: { content: [{ type: 'tool_use', id: `t${i}`, name: 'Read', input: { file_path: `${WORKTREE}/f${i}.ts` } }] },
      }),
    ]);
  for (let i = 0; i < 4500; i++)
    lines.push([
      'stdout',
      JSON.stringify({ type: 'user', message: { content: [{ type: 'tool_result', tool_use_id: `t${i}`, content: 'x' }] } }),
    ]);
  lines.push(['stdout', JSON.stringify({ type: 'assistant', message: { content: [{ type: 'text', text: 'Read everything.' }] } })]);
  await addTask('long-task', 'claude-code', lines);
  const r = await transcript(service, 'long-task');
  assert.ok(r.ok);
  assert.equal(r.value.entries.length, 2000);
  assert.equal(r.value.omitted, 2501);
  const first = r.value.entries[0]!;
  assert.deepEqual(first.kind === 'step' && [first.title, first.state], ['Reading f2501.ts', 'ok']);
  assert.deepEqual(r.value.entries.at(-1), { kind: 'message', at: r.value.entries.at(-1)!.at, text: 'Read everything.' });
  assert.ok(
    r.value.entries.every((e) => e.kind === 'message' || e.state === 'ok'),
    'every kept step finished in place',
  );
});
