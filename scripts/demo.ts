// `npm run demo`: the whole runner on this machine with no Sibyl server to hand. It starts the
// test suite's fake Sibyl Core on 127.0.0.1 and a scripted model server (the language model is the
// one part that cannot run here), then drives the real CLI exactly as a user would: `login`
// (device flow, approved by the fake server), `register`, `run --agent claude-code`; assigns one
// task with a prompt and no command, which the real Claude Code CLI carries out in a git worktree
// of a throwaway repository: live steps, the commit on the task branch, the result with usage.
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { FakeCore } from '../test/helpers/fakeCore.ts';
import { callTools, ModelServer, say as answer } from '../test/helpers/modelServer.ts';

const BIN = resolve(import.meta.dirname, '..', 'bin', 'sibyl-runner.js');
const AGENT_BIN = resolve(import.meta.dirname, '..', 'node_modules', '.bin');
const home = mkdtempSync(join(tmpdir(), 'sibyl-demo-'));
const README = '# demo app\n';

/** The model's side of the task: read the README, add a greeting, check the diff, summarise (paths relative to the worktree). */
const model = await ModelServer.start(
  [
    callTools({ name: 'Read', input: { file_path: 'README.md' } }),
    callTools({ name: 'Write', input: { file_path: 'README.md', content: `${README}\nHello from Claude Code!\n` } }),
    callTools({ name: 'Bash', input: { command: 'git diff --stat', description: 'Show what changed' } }),
    answer('Add a greeting to the README\n\nThe README now ends with a friendly hello.', { input: 1200, output: 80 }),
  ],
  // Paced so a person can follow the steps; SIBYL_DEMO_PACE_MS=0 (the tests) does not wait.
  { turnDelayMs: Number(process.env.SIBYL_DEMO_PACE_MS ?? 1100) || 0 },
);
const env = {
  // The real Claude Code CLI (a devDependency) is found on PATH like a user's global install.
  PATH: `${AGENT_BIN}:${process.env.PATH ?? ''}`,
  HOME: home,
  ANTHROPIC_BASE_URL: model.url,
  ANTHROPIC_API_KEY: 'sk-ant-demo-not-a-key',
  CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC: '1',
  GIT_AUTHOR_NAME: 'Demo',
  GIT_AUTHOR_EMAIL: 'demo@example.invalid',
  GIT_COMMITTER_NAME: 'Demo',
  GIT_COMMITTER_EMAIL: 'demo@example.invalid',
  // The CLI colours only a terminal, and never with NO_COLOR set (https://no-color.org): it must see the user's choice.
  ...(process.env.NO_COLOR ? { NO_COLOR: process.env.NO_COLOR } : {}),
};
/** Headings in bold on a terminal; plain into a pipe or a file, or with NO_COLOR set. */
const bold = process.stdout.isTTY && !process.env.NO_COLOR;
const say = (s: string): void => console.log(bold ? `\n\x1b[1m▸ ${s}\x1b[0m` : `\n▸ ${s}`);

function cli(args: string[], onStderr?: (text: string) => void): Promise<number | null> {
  const child = spawn(process.execPath, [BIN, ...args], { env, stdio: ['ignore', 'inherit', 'pipe'] });
  child.stderr.on('data', (c: Buffer) => {
    process.stderr.write(c);
    onStderr?.(c.toString());
  });
  return new Promise((r) => child.on('close', r));
}

const core = await FakeCore.start({ heartbeatIntervalMs: 5000, deviceIntervalS: 0.5 });
try {
  say(`A fake Sibyl Core listens on ${core.url}; everything is kept in ${home}`);

  say('sibyl-runner login  (device flow; the fake server approves the code)');
  let approved = false;
  const loginCode = await cli(['login', '--server', core.url], (text) => {
    const code = /enter the code:\s+([A-Z0-9]{4}-[A-Z0-9]{4})/.exec(text)?.[1];
    if (code && !approved) {
      approved = true;
      setTimeout(() => core.approveDevice(code), 300);
    }
  });
  if (loginCode !== 0) throw new Error('login failed');

  say('sibyl-runner register --name demo-runner --json');
  // Async: this process also serves the fake Sibyl Core, so it must not block while waiting.
  const reg = spawn(process.execPath, [BIN, 'register', '--server', core.url, '--name', 'demo-runner', '--json'], {
    env,
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let out = '';
  reg.stdout.on('data', (c: Buffer) => (out += c.toString()));
  if ((await new Promise((r) => reg.on('close', r))) !== 0) throw new Error('register failed');
  console.log(out.trim());
  const runnerId = (JSON.parse(out) as { runner_id: string }).runner_id;

  const repo = join(home, 'src', 'demo-app');
  mkdirSync(repo, { recursive: true });
  writeFileSync(join(repo, 'README.md'), README);
  for (const args of [
    ['init', '-q', '-b', 'main'],
    ['add', '.'],
    ['commit', '-q', '-m', 'initial commit'],
  ])
    spawnSync('git', args, { cwd: repo, env });
  say('sibyl-runner projects link  (a throwaway git repository as project_demo)');
  await cli(['projects', 'link', repo, 'project_demo']);

  say('sibyl-runner run --agent claude-code  (in the background)');
  const runner = spawn(process.execPath, [BIN, 'run', '--agent', 'claude-code'], { env, stdio: 'inherit' });
  await core.until(() => core.connected(runnerId), 15_000, 'the runner to connect');

  say('The server assigns a task with a prompt and no command: Claude Code runs it in its own worktree');
  const taskId = crypto.randomUUID();
  core.send(runnerId, {
    type: 'task_assign',
    task_id: taskId,
    agent_id: 'agent_0123456789ab',
    project_id: 'project_demo',
    config: { prompt: 'Add a greeting to the README', agent_type: 'implementer' },
  });
  say('Live steps (agent_update activity, at most one a second)');
  let shown = 0;
  const live = setInterval(() => {
    const updates = core.messagesOf('agent_update', runnerId);
    for (const u of updates.slice(shown))
      console.log(`  ${u.progress !== null && u.progress !== undefined ? `[${u.progress}%] ` : ''}${u.activity ?? ''}`);
    shown = updates.length;
  }, 100);
  const done = await core.waitFor((f) => f.message?.type === 'task_complete' && f.message.task_id === taskId, 60_000, 'the result');
  clearInterval(live);
  const msg = done.message;
  if (msg?.type !== 'task_complete') throw new Error('no result');
  await core.waitFor((f) => f.message?.type === 'status' && f.at > done.at, 5000, 'the status after the task');
  say('What the server received');
  for (const f of core.frames.filter((x) => x.runnerId === runnerId && x.message?.type !== 'heartbeat_ack'))
    console.log(`  ${f.message?.type}${f.message?.type === 'agent_update' ? `: ${f.message.activity ?? ''}` : ''}`);
  const r = msg.result as Record<string, unknown>;
  console.log(
    `\n  success=${msg.success} status=${String(r.status)} agent=${String(r.agent)} model=${String(r.model)} branch=${String(r.branch)} commits=${JSON.stringify((r.commits as { count?: number } | undefined)?.count)} files_changed=${String(r.files_changed)}`,
  );
  console.log(`  summary: ${JSON.stringify(r.summary)}`);
  console.log(`  usage: ${JSON.stringify(r.usage)} cost_usd=${String(r.cost_usd)} turns=${String(r.num_turns)}`);
  if (msg.success !== true) throw new Error(`the task failed: ${msg.error ?? ''}`);
  say(`git log -1 ${String(r.branch)}  (the agent's work, committed by the runner)`);
  // No pager (the demo's environment has no TERM for one), and git's colours follow NO_COLOR too, which git itself ignores.
  spawnSync('git', ['--no-pager', '-c', `color.ui=${bold ? 'auto' : 'never'}`, 'log', '-1', '--stat', String(r.branch)], {
    cwd: repo,
    env,
    stdio: 'inherit',
  });

  say('sibyl-runner status');
  await cli(['status']);
  say('sibyl-runner history');
  await cli(['history']);
  say(`sibyl-runner logs ${taskId}`);
  await cli(['logs', taskId]);

  say('Stopping the runner (SIGTERM drains it)');
  runner.kill('SIGTERM');
  await new Promise((res) => runner.on('close', res));
  console.log('\nDemo finished.');
} finally {
  await model.close();
  await core.stop();
  rmSync(home, { recursive: true, force: true });
}
