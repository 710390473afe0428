import { spawn, execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import YAML from 'yaml';
import { claudeCode } from '../main/runner/agents/claudeCode.ts';
import { FakeCore } from '../test/helpers/fakeCore.ts';
import { ModelServer, say } from '../test/helpers/modelServer.ts';
import { percentile, printTable } from './stats.ts';

/**
 * Runner overhead per agent task (issue 11): task_assign → the agent's first model request through
 * the real `sibyl-runner run`, minus the same Claude Code CLI started directly in a prepared
 * worktree → its first model request, minus a raw `git worktree add` of the same repository. All
 * against one scripted model server on 127.0.0.1, measured in the same run.
 */
const BIN = resolve(import.meta.dirname, '..', 'bin', 'sibyl-runner.js');
const AGENT_BIN = resolve(import.meta.dirname, '..', 'node_modules', '.bin');
const ROUNDS = 8;

const median = (xs: number[]): number => percentile(xs, 50);
const git = (cwd: string, ...args: string[]): string => execFileSync('git', args, { cwd, encoding: 'utf8' }).trim();

/** When the n-th model request (0-based) arrived, ms since the epoch. */
async function modelRequestAt(server: ModelServer, n: number): Promise<number> {
  for (;;) {
    const r = server.modelRequests[n];
    if (r) return server.started + r.at;
    await new Promise((res) => setTimeout(res, 2));
  }
}

export async function run(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'sibyl-agent-bench-'));
  const home = join(dir, 'home');
  mkdirSync(join(home, 'tmp'), { recursive: true });
  const server = await ModelServer.start(Array.from({ length: ROUNDS * 2 + 1 }, () => say('Done.')));
  const env = {
    PATH: `${AGENT_BIN}:${process.env.PATH ?? ''}`,
    HOME: home,
    TMPDIR: join(home, 'tmp'),
    CLAUDE_CONFIG_DIR: join(home, '.claude'),
    ANTHROPIC_BASE_URL: server.url,
    ANTHROPIC_API_KEY: 'sk-ant-bench-not-a-key',
    CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC: '1',
  };
  const repo = join(dir, 'repo');
  mkdirSync(repo);
  git(repo, 'init', '-q', '-b', 'main');
  writeFileSync(join(repo, 'README.md'), '# bench\n');
  git(repo, 'add', '.');
  git(repo, '-c', 'user.name=b', '-c', 'user.email=b@b', 'commit', '-q', '-m', 'init');
  let served = 0;

  // Floor 1: a raw `git worktree add` of the same repository.
  const worktreeMs: number[] = [];
  for (let i = 0; i < ROUNDS; i++) {
    const t0 = performance.now();
    git(repo, 'worktree', 'add', '-q', '-b', `raw-${i}`, join(dir, `raw-${i}`));
    worktreeMs.push(performance.now() - t0);
  }

  // The runner: `sibyl-runner run --agent claude-code`, the project linked, one task at a time.
  const core = await FakeCore.start({ heartbeatIntervalMs: 0 });
  const { id, accessToken } = core.addRunner({ name: 'bench' });
  const config = join(dir, 'runner.yaml');
  writeFileSync(
    config,
    YAML.stringify({
      server_url: core.url,
      runner_id: id,
      worktree_base: join(dir, 'wt'),
      log_dir: join(dir, 'logs'),
      state_dir: join(dir, 'state'),
    }),
  );
  execFileSync(process.execPath, [BIN, 'projects', 'link', repo, 'project_bench', '--config', config], { env: { ...env, HOME: home } });
  const runner = spawn(process.execPath, [BIN, 'run', '--quiet', '--agent', 'claude-code', '--config', config], {
    env: { ...env, SIBYL_ACCESS_TOKEN: accessToken },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  await core.until(() => core.connected(id), 15_000, 'the bench runner to connect');
  const viaRunner = async (): Promise<number> => {
    const taskId = crypto.randomUUID();
    const t0 = Date.now();
    core.send(id, {
      type: 'task_assign',
      task_id: taskId,
      agent_id: 'agent_0123456789ab',
      project_id: 'project_bench',
      config: { prompt: 'Say done.', agent_type: 'implementer' },
    });
    const at = await modelRequestAt(server, served++);
    await core.waitFor((f) => f.message?.type === 'task_complete' && f.message.task_id === taskId, 30_000, 'the bench task');
    return at - t0;
  };
  // The same CLI with the same arguments, started directly in a prepared worktree.
  const direct = async (cwd: string): Promise<number> => {
    const launch = claudeCode.launch({
      prompt: 'Say done.',
      promptFile: join(dir, 'prompt.txt'),
      agentType: 'implementer',
      readOnly: false,
      context: 'bench',
      executable: join(AGENT_BIN, 'claude'),
      settings: {},
    });
    const t0 = Date.now();
    const child = spawn(launch.argv[0]!, launch.argv.slice(1), { cwd, env, stdio: ['pipe', 'ignore', 'ignore'] });
    child.stdin.end(launch.stdin);
    const at = await modelRequestAt(server, served++);
    await new Promise((r) => child.once('close', r));
    return at - t0;
  };
  // The first task also pays for detecting the installed agents (once per runner start): not counted.
  await viaRunner();
  // Interleaved, so disk caches and machine load weigh on both paths alike.
  const directMs: number[] = [];
  const runnerMs: number[] = [];
  const pairMs: number[] = [];
  for (let i = 0; i < ROUNDS; i++) {
    const d = await direct(join(dir, `raw-${i}`));
    const r = await viaRunner();
    directMs.push(d);
    runnerMs.push(r);
    pairMs.push(r - d);
  }
  runner.kill('SIGTERM');
  await new Promise((r) => runner.once('close', r));
  await core.stop();
  await server.close();
  rmSync(dir, { recursive: true, force: true });

  const overhead = median(pairMs) - median(worktreeMs);
  printTable(`Agent task start, Claude Code against a scripted model server (median of ${ROUNDS})`, [
    { figure: 'raw git worktree add (floor)', result: `${median(worktreeMs).toFixed(1)} ms`, target: '' },
    { figure: 'claude started directly → first model request (floor)', result: `${median(directMs).toFixed(0)} ms`, target: '' },
    { figure: 'task_assign → first model request via sibyl-runner run', result: `${median(runnerMs).toFixed(0)} ms`, target: '' },
    {
      figure: 'runner overhead (median of runner − direct pairs, − worktree add)',
      result: `${overhead.toFixed(0)} ms`,
      target: '≤ 100 ms',
    },
  ]);
}

if (import.meta.main) await run();
