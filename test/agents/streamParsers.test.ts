import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { ClaudeStreamParser } from '../../main/runner/agents/claudeCode.ts';
import { CodexStreamParser } from '../../main/runner/agents/codex.ts';
import { DETAIL_BYTES, stepDetail, type AgentStreamParser, type ParsedLine } from '../../main/runner/agents/preset.ts';

/** Real output captured from the CLIs against the scripted model server (test/agents/realAgents.test.ts). */
const fixture = (name: string): string[] =>
  readFileSync(join(import.meta.dirname, 'fixtures', name), 'utf8')
    .split('\n')
    .filter((l) => l.trim());

function feed(parser: AgentStreamParser, lines: string[]): ParsedLine[] {
  return lines.map((l, i) => parser.line(l, 1000 + i));
}

test('Claude Code stream-json: activity in words, steps with their outcome, and the result fields', () => {
  const parser = new ClaudeStreamParser('/tmp/sibyl-fixture/wt');
  const parsed = feed(parser, fixture('claude-code-stream.jsonl'));
  const activities = parsed.map((p) => p.activity).filter(Boolean);
  assert.ok(activities.includes('Writing hello.txt'), JSON.stringify(activities));
  assert.ok(activities.includes('Running: ls'), JSON.stringify(activities));
  assert.ok(
    activities.every((a) => !a!.startsWith('{')),
    'never raw JSON',
  );
  const steps = parsed.flatMap((p) => p.steps ?? []);
  const write = steps.filter((s) => s.tool === 'Write');
  assert.deepEqual(
    write.map((s) => s.state),
    ['running', 'ok'],
  );
  const o = parser.outcome();
  assert.equal(o.summary, 'Wrote hello.txt.');
  assert.equal(o.session_id, (JSON.parse(fixture('claude-code-stream.jsonl')[0]!) as { session_id: string }).session_id);
  assert.equal(o.model, 'claude-opus-5-5');
  assert.equal(o.num_turns, 3);
  assert.ok(o.cost_usd! > 0);
  assert.deepEqual(o.usage, { input_tokens: 350, output_tokens: 70, cache_read_input_tokens: 0, cache_creation_input_tokens: 0 });
  assert.equal(o.error, undefined);
  assert.equal(o.permission_denials, undefined);
});

test('Claude Code: an error result, refused permissions, a todo list and lines that are not events', () => {
  const parser = new ClaudeStreamParser('/w');
  const todo = parser.line(
    JSON.stringify({
      type: 'assistant',
      message: {
        content: [
          {
            type: 'tool_use',
            id: 't1',
            name: 'TodoWrite',
            input: {
              todos: [
                { status: 'completed' },
                { status: 'completed' },
                { status: 'completed' },
                ...Array.from({ length: 4 }, () => ({ status: 'pending' })),
              ],
            },
          },
        ],
      },
    }),
    1,
  );
  assert.deepEqual([todo.activity, todo.progress], ['Planning', 43]);
  assert.deepEqual(parser.line('not json', 2), {});
  assert.deepEqual(parser.line('{"type":"unknown_kind"}', 3), {});
  const end = parser.line(
    JSON.stringify({
      type: 'result',
      subtype: 'success',
      is_error: true,
      result: 'API Error: 401 invalid x-api-key',
      permission_denials: [{ tool_name: 'Write', tool_use_id: 'x', tool_input: { file_path: '/w/a.txt' } }],
    }),
    4,
  );
  assert.equal(end.activity, 'Claude Code reported an error');
  const o = parser.outcome();
  assert.equal(o.error, 'API Error: 401 invalid x-api-key');
  assert.deepEqual(o.permission_denials, [{ tool: 'Write', input: 'Writing a.txt' }]);
});

test('Codex exec --json: commands in words, the final message, usage summed over turns, warnings are not failures', () => {
  const parser = new CodexStreamParser('/tmp/wt');
  const parsed = feed(parser, fixture('codex-exec.jsonl'));
  const activities = parsed.map((p) => p.activity).filter(Boolean);
  assert.ok(
    activities.some((a) => a!.startsWith('Running: printf')),
    JSON.stringify(activities),
  );
  const steps = parsed.flatMap((p) => p.steps ?? []);
  assert.deepEqual(
    steps.map((s) => s.state),
    ['running', 'ok'],
  );
  const o = parser.outcome();
  assert.equal(o.summary, 'Wrote hello.txt.');
  assert.equal(o.session_id, (JSON.parse(fixture('codex-exec.jsonl')[0]!) as { thread_id: string }).thread_id);
  assert.equal(o.error, undefined, 'the "model metadata not found" warning does not fail the run');
  assert.equal(o.num_turns, 1);
  assert.deepEqual(o.usage, { input_tokens: 250, output_tokens: 50, cache_read_input_tokens: 0, cache_creation_input_tokens: 0 });
  parser.line(JSON.stringify({ type: 'turn.failed', error: { message: 'stream disconnected' } }), 9);
  assert.equal(parser.outcome().error, 'stream disconnected');
  const change = parser.line(
    JSON.stringify({
      type: 'item.completed',
      item: { id: 'f', type: 'file_change', changes: [{ path: '/tmp/wt/src/a.ts', kind: 'update' }] },
    }),
    10,
  );
  assert.equal(change.activity, 'Editing src/a.ts');
  const todo = parser.line(
    JSON.stringify({
      type: 'item.updated',
      item: {
        id: 't',
        type: 'todo_list',
        items: [
          { text: 'a', completed: true },
          { text: 'b', completed: false },
        ],
      },
    }),
    11,
  );
  assert.deepEqual([todo.activity, todo.progress], ['Planning', 50]);
});

test('Claude Code for the transcript: the assistant’s words as messages, each step’s input and result as its detail', () => {
  const parser = new ClaudeStreamParser('/tmp/sibyl-fixture/wt');
  const parsed = feed(parser, fixture('claude-code-stream.jsonl'));
  assert.deepEqual(
    parsed.flatMap((p) => (p.message ? [p.message] : [])),
    ['Wrote hello.txt.'],
    'the final result event does not repeat the last message',
  );
  const steps = parsed.flatMap((p) => p.steps ?? []);
  const [writeStarted, writeDone] = steps.filter((s) => s.tool === 'Write');
  assert.equal(writeStarted!.detail, 'file_path: /tmp/sibyl-fixture/wt/hello.txt\ncontent: hello from the model');
  assert.match(
    writeDone!.detail!,
    /^file_path: \/tmp\/sibyl-fixture\/wt\/hello\.txt\ncontent: hello from the model\n\nFile created successfully at/,
  );
  const bashDone = steps.filter((s) => s.tool === 'Bash').at(-1)!;
  assert.equal(bashDone.detail, 'command: ls\ndescription: List files\n\nREADME.md\nhello.txt');
  assert.equal(bashDone.endedAt! - bashDone.startedAt, 1, 'ended on the line after it started');
});

test('Claude Code: a failed tool’s result in blocks, and a long input and result both kept within 2 KiB', () => {
  const parser = new ClaudeStreamParser('/w');
  const command = `npm test -- ${'x'.repeat(5000)}`;
  const use = (id: string, input: Record<string, unknown>) =>
    JSON.stringify({
      type: 'assistant',
      message: {
        content: [
          { type: 'text', text: 'Checking.' },
          { type: 'tool_use', id, name: 'Bash', input },
        ],
      },
    });
  const result = (id: string, content: unknown, isError: boolean) =>
    JSON.stringify({ type: 'user', message: { content: [{ type: 'tool_result', tool_use_id: id, is_error: isError, content }] } });
  const first = parser.line(use('a', { command: 'npm test' }), 1);
  assert.equal(first.message, 'Checking.');
  assert.equal(first.activity, 'Running: npm test');
  const failed = parser.line(
    result(
      'a',
      [
        { type: 'text', text: '1 failing' },
        { type: 'image', source: {} },
      ],
      true,
    ),
    2,
  );
  assert.equal(failed.steps![0]!.state, 'error');
  assert.equal(failed.steps![0]!.detail, 'command: npm test\n\n1 failing\n[image]');
  parser.line(use('b', { command }), 3);
  const long = parser.line(result('b', 'y'.repeat(5000), false), 4).steps![0]!;
  assert.ok(Buffer.byteLength(long.detail!) <= DETAIL_BYTES, `${Buffer.byteLength(long.detail!)} bytes`);
  assert.match(long.detail!, /^command: npm test -- x+…\n\ny+…$/);
});

test('Codex for the transcript: the agent message once when complete, commands with their output and exit code', () => {
  const parser = new CodexStreamParser('/tmp/wt');
  const parsed = feed(parser, fixture('codex-exec.jsonl'));
  assert.deepEqual(
    parsed.flatMap((p) => (p.message ? [p.message] : [])),
    ['Wrote hello.txt.'],
  );
  const steps = parsed.flatMap((p) => p.steps ?? []);
  assert.equal(steps[0]!.detail, 'printf "hello from codex\\n" > hello.txt && ls');
  assert.equal(steps[1]!.detail, 'printf "hello from codex\\n" > hello.txt && ls\n\nREADME.md\nhello.txt');
  const partial = parser.line(JSON.stringify({ type: 'item.updated', item: { id: 'm', type: 'agent_message', text: 'Half a' } }), 5);
  assert.equal(partial.message, undefined, 'a message still being written is not a transcript entry yet');
  const failed = parser.line(
    JSON.stringify({
      type: 'item.completed',
      item: { id: 'c', type: 'command_execution', command: ['bash', '-lc', 'npm test'], aggregated_output: '1 failing\n', exit_code: 1 },
    }),
    6,
  );
  assert.equal(failed.steps![0]!.state, 'error');
  assert.equal(failed.steps![0]!.detail, 'npm test\n\n1 failing\nexit code 1');
  const change = parser.line(
    JSON.stringify({
      type: 'item.completed',
      item: {
        id: 'f',
        type: 'file_change',
        changes: [
          { path: '/tmp/wt/src/a.ts', kind: 'update' },
          { path: '/tmp/wt/src/b.ts', kind: 'add' },
        ],
      },
    }),
    7,
  );
  assert.equal(change.steps![0]!.detail, 'update src/a.ts\nadd src/b.ts');
});

test('stepDetail: input alone, result alone, both cut to the budget on a character boundary', () => {
  assert.equal(stepDetail('  '), undefined);
  assert.equal(stepDetail('', 'out'), 'out');
  assert.equal(stepDetail('in', '  '), 'in');
  const both = stepDetail('é'.repeat(3000), 'ü'.repeat(3000))!;
  assert.ok(Buffer.byteLength(both) <= DETAIL_BYTES);
  assert.ok(!both.includes('\uFFFD'), 'no broken character');
  const [input, output] = both.split('\n\n');
  assert.ok(Buffer.byteLength(input!) >= DETAIL_BYTES / 2 - 3 && Buffer.byteLength(output!) > 900);
  // A short result leaves the rest of the budget to the input.
  assert.ok(Buffer.byteLength(stepDetail('a'.repeat(5000), 'ok')!.split('\n\n')[0]!) > 2000);
});

test('Claude Code: a question the agent tried to ask in a non-interactive run is what it needs', () => {
  const parser = new ClaudeStreamParser('/w');
  parser.line(
    JSON.stringify({
      type: 'result',
      subtype: 'success',
      result: 'I need to know which database to use.',
      permission_denials: [
        { tool_name: 'AskUserQuestion', tool_use_id: 'q', tool_input: { questions: [{ question: 'Postgres or SQLite?', header: 'DB' }] } },
      ],
    }),
    1,
  );
  assert.equal(parser.outcome().question, 'Postgres or SQLite?');
});

test('Codex: an error event it recovers from is not a failure; one it does not recover from is', () => {
  const recovered = new CodexStreamParser('/w');
  recovered.line(JSON.stringify({ type: 'error', message: 'Reconnecting... 1/5 (stream disconnected)' }), 1);
  recovered.line(JSON.stringify({ type: 'turn.completed', usage: { input_tokens: 1, output_tokens: 1 } }), 2);
  assert.equal(recovered.outcome().error, undefined);
  const lost = new CodexStreamParser('/w');
  lost.line(JSON.stringify({ type: 'error', message: 'Reconnecting... 5/5 (stream disconnected)' }), 1);
  assert.equal(lost.outcome().error, 'Reconnecting... 5/5 (stream disconnected)');
});
