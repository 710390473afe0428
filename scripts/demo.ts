// `npm run demo`: the whole runner on this machine with no Sibyl server to hand. It starts the
// test suite's fake Sibyl Core on 127.0.0.1, then drives the real CLI exactly as a user would:
// `login` (device flow, approved by the fake server), `register`, `run`; assigns one task (a real
// git worktree of a throwaway repository), prints what the server received, and stops.
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { FakeCore } from '../test/helpers/fakeCore.ts';

const BIN = resolve(import.meta.dirname, '..', 'bin', 'sibyl-runner.js');
const home = mkdtempSync(join(tmpdir(), 'sibyl-demo-'));
const env = {
  PATH: process.env.PATH,
  HOME: home,
  GIT_AUTHOR_NAME: 'Demo',
  GIT_AUTHOR_EMAIL: 'demo@example.invalid',
  GIT_COMMITTER_NAME: 'Demo',
  GIT_COMMITTER_EMAIL: 'demo@example.invalid',
};
const say = (s: string): void => console.log(`\n\x1b[1m▸ ${s}\x1b[0m`);

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
  writeFileSync(join(repo, 'README.md'), '# demo app\n');
  for (const args of [
    ['init', '-q', '-b', 'main'],
    ['add', '.'],
    ['commit', '-q', '-m', 'initial commit'],
  ])
    spawnSync('git', args, { cwd: repo, env });
  say('sibyl-runner projects link  (a throwaway git repository as project_demo)');
  await cli(['projects', 'link', repo, 'project_demo']);

  say('sibyl-runner run  (in the background)');
  const runner = spawn(process.execPath, [BIN, 'run'], { env, stdio: 'inherit' });
  await core.until(() => core.connected(runnerId), 15_000, 'the runner to connect');

  say('The server assigns a task: an "agent" that edits a file and commits in its own worktree');
  const taskId = crypto.randomUUID();
  core.send(runnerId, {
    type: 'task_assign',
    task_id: taskId,
    agent_id: 'agent_0123456789ab',
    project_id: 'project_demo',
    config: {
      prompt: 'Add a greeting to the README',
      command: [
        '/bin/sh',
        '-c',
        'echo "working on: $SIBYL_TASK_PROMPT"; echo "Hello from the runner" >> README.md; git commit -qam "Add a greeting"; echo done',
      ],
    },
  });
  const done = await core.waitFor((f) => f.message?.type === 'task_complete' && f.message.task_id === taskId, 30_000, 'the result');
  const msg = done.message;
  if (msg?.type !== 'task_complete') throw new Error('no result');
  await core.waitFor((f) => f.message?.type === 'status' && f.at > done.at, 5000, 'the status after the task');
  say('What the server received');
  for (const f of core.frames.filter((x) => x.runnerId === runnerId && x.message?.type !== 'heartbeat_ack'))
    console.log(`  ${f.message?.type}${f.message?.type === 'agent_update' ? `: ${f.message.activity ?? ''}` : ''}`);
  const r = msg.result as Record<string, unknown>;
  console.log(
    `\n  success=${msg.success} status=${String(r.status)} exit_code=${String(r.exit_code)} branch=${String(r.branch)} commits=${JSON.stringify((r.commits as { count?: number } | undefined)?.count)} files_changed=${String(r.files_changed)}`,
  );

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
  await core.stop();
  rmSync(home, { recursive: true, force: true });
}
