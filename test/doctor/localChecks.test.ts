import assert from 'node:assert/strict';
import { mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { DoctorReport, timeSpan, withDeadline } from '../../main/runner/doctor/check.ts';
import { parseGitVersion } from '../../main/runner/doctor/git.ts';
import { clockCheck, unreachableWords } from '../../main/runner/doctor/server.ts';
import { selfHolder } from '../../main/runner/lockFile.ts';
import { defaultStateDir } from '../../main/runner/config/schema.ts';
import { registeredRunner, writeYaml } from '../helpers/runnerHarness.ts';
import { tempDir } from '../helpers/tmp.ts';
import { checkOf, doctor, doctorJson, fakeBin } from './doctorCli.ts';

/** A runner.yaml in a fresh HOME, with no server: for checks that need none. */
function localConfig(extra: Record<string, unknown> = {}): { home: string; config: string } {
  const home = tempDir();
  const config = join(home, 'runner.yaml');
  writeYaml(config, { worktree_base: join(home, 'wt'), log_dir: join(home, 'logs'), ...extra });
  return { home, config };
}

const CLAUDE = 'echo "9.9.9 (Claude Code)"';

test('git: missing from PATH fails, too old fails, new enough is ok and names the minimum', async () => {
  const { home, config } = localConfig();
  const none = fakeBin({}, false);
  const missing = checkOf((await doctorJson(['--config', config], { HOME: home, PATH: none.PATH })).report, 'git');
  assert.equal(missing.status, 'fail');
  assert.equal(missing.summary, 'git is not installed (no `git` on PATH)');
  assert.match(missing.fix ?? '', /2\.31 or newer/);

  const old = fakeBin({ git: 'echo "git version 2.25.1"' });
  const tooOld = checkOf((await doctorJson(['--config', config], { HOME: home, PATH: old.PATH })).report, 'git');
  assert.equal(tooOld.status, 'fail');
  assert.match(tooOld.summary, /^git 2\.25\.1 is too old: .* 2\.31 or newer$/);

  const real = checkOf((await doctorJson(['--config', config], { HOME: home, PATH: fakeBin().PATH })).report, 'git');
  assert.equal(real.status, 'ok');
  assert.match(real.summary, /^git \d+\.\d+\.\d+ \(2\.31 or newer needed\)$/);
  assert.equal(real.detail.minimum, '2.31');
});

test('a state folder under a file cannot be created (an honest unwritable folder, also for root)', async () => {
  const { home, config } = localConfig();
  const blocker = join(home, 'blocker');
  writeFileSync(blocker, 'a file where a folder should be');
  writeYaml(config, { worktree_base: join(home, 'wt'), log_dir: join(home, 'logs'), state_dir: join(blocker, 'state') });
  const { code, report } = await doctorJson(['--config', config], { HOME: home, PATH: fakeBin().PATH });
  assert.equal(code, 1);
  const state = checkOf(report, 'stateFolder');
  assert.equal(state.status, 'fail');
  assert.equal(state.summary, `${join(blocker, 'state')} cannot be created: ${blocker} is a file, not a folder`);
  assert.match(state.fix ?? '', new RegExp(`set state_dir in ${config.replace(/\./g, '\\.')}`));
  assert.equal(checkOf(report, 'stateLock').status, 'skip');
  // The writable ones say so, with their free space, and left no probe file behind.
  const wt = checkOf(report, 'worktreeFolder');
  assert.equal(wt.status, 'ok', wt.summary);
  assert.match(wt.summary, /created at the first start/);
  assert.equal(typeof wt.detail.freeBytes, 'number');
  assert.deepEqual(
    readdirSync(home).filter((f) => f.startsWith('.sibyl-doctor')),
    [],
  );
});

test('the state lock: held by a live daemon of another configuration fails, naming its pid', async () => {
  const { home, config } = localConfig();
  const stateDir = defaultStateDir(home, config);
  mkdirSync(stateDir, { recursive: true });
  // This test process is alive: a lock naming it is a live holder.
  writeFileSync(join(stateDir, 'runner.lock'), JSON.stringify({ ...selfHolder(), configPath: join(home, 'other.yaml') }));
  const { code, report } = await doctorJson(['--config', config], { HOME: home, PATH: fakeBin().PATH });
  assert.equal(code, 1);
  const lock = checkOf(report, 'stateLock');
  assert.equal(lock.status, 'fail');
  assert.match(lock.summary, new RegExp(`pid ${process.pid}, ${join(home, 'other.yaml').replace(/\./g, '\\.')}`));
  assert.equal(lock.detail.pid, process.pid);

  // The same lock left by a process that is gone: taken over at the next start, not a problem.
  writeFileSync(join(stateDir, 'runner.lock'), JSON.stringify({ pid: 2 ** 22 + 17, since: Date.now(), configPath: config }));
  const stale = checkOf((await doctorJson(['--config', config], { HOME: home, PATH: fakeBin().PATH })).report, 'stateLock');
  assert.equal(stale.status, 'ok');
  assert.match(stale.summary, /taken over at the next start/);
});

test('an agent the configuration names but that is not installed fails doctor', async () => {
  const { home, config } = localConfig({ agent: 'codex' });
  const { code, report } = await doctorJson(['--config', config], { HOME: home, PATH: fakeBin().PATH });
  assert.equal(code, 1);
  const codex = checkOf(report, 'agent.codex');
  assert.equal(codex.status, 'fail');
  assert.equal(codex.summary, 'Codex is configured (agent: codex) but `codex` is not on PATH');
  assert.match(codex.fix ?? '', /npm install -g @openai\/codex/);
  assert.equal(checkOf(report, 'agents').status, 'fail');
  // One that nothing asks for is only noted.
  assert.equal(checkOf(report, 'agent.gemini').status, 'skip');
});

test('no agent CLI at all is a warning: tasks that bring their own command still run', async () => {
  const { home, config } = localConfig();
  const { report } = await doctorJson(['--config', config], { HOME: home, PATH: fakeBin().PATH });
  const agents = checkOf(report, 'agents');
  assert.equal(agents.status, 'warn');
  assert.match(agents.fix ?? '', /install Claude Code/);
});

test('an installed agent: its version and path, and its key by name only — never its value', async () => {
  const { home, config } = localConfig();
  // `exec`: the shell becomes the sleep, so the 5 s timeout's kill ends it (and its hold on the pipe).
  const bin = fakeBin({ claude: CLAUDE, codex: 'exec sleep 30' });
  const key = 'sk-ant-doctor-test-value-0123456789';
  const run = await doctor(['--json', '--config', config], { HOME: home, PATH: bin.PATH, ANTHROPIC_API_KEY: key });
  assert.ok(!run.stdout.includes(key), 'the key value is never printed');
  const report = DoctorReport.parse(JSON.parse(run.stdout));
  const claude = checkOf(report, 'agent.claude-code');
  assert.equal(claude.status, 'ok');
  assert.equal(claude.summary, `9.9.9 (Claude Code) at ${join(bin.dir, 'claude')}; ANTHROPIC_API_KEY is set for it (from the environment)`);
  assert.equal(claude.detail.keyVariable, 'ANTHROPIC_API_KEY');
  assert.equal(
    checkOf(report, 'agents').summary,
    'Tasks without a command of their own run Claude Code (the first installed; set agent in runner.yaml to choose)',
  );
  // A CLI that hangs on --version is reported, within detectAgents' 5 s.
  const codex = checkOf(report, 'agent.codex');
  assert.equal(codex.status, 'warn');
  assert.match(codex.summary, /did not answer `--version` within 5 s$/);
  const human = await doctor(['--config', config], { HOME: home, PATH: fakeBin({ claude: CLAUDE }).PATH, ANTHROPIC_API_KEY: key });
  assert.match(human.stdout, /^✓ Claude Code +9\.9\.9 \(Claude Code\) at .*; ANTHROPIC_API_KEY is set for it/m);
  assert.ok(!human.stdout.includes(key));
});

test("an agent key: missing warns; set in runner.yaml counts; one carrying the runner's token is held back from agents", async () => {
  const { home, config } = localConfig();
  const bin = fakeBin({ claude: CLAUDE });
  const missing = checkOf((await doctorJson(['--config', config], { HOME: home, PATH: bin.PATH })).report, 'agent.claude-code');
  assert.equal(missing.status, 'warn');
  assert.match(missing.summary, /no ANTHROPIC_API_KEY, CLAUDE_CODE_OAUTH_TOKEN or ANTHROPIC_AUTH_TOKEN in the environment agents get/);
  assert.match(missing.fix ?? '', /export ANTHROPIC_API_KEY=… where the runner starts/);

  // Claude Code's own login (a file on Linux) is enough.
  mkdirSync(join(home, '.claude'));
  writeFileSync(join(home, '.claude', '.credentials.json'), '{}');
  const loggedIn = checkOf((await doctorJson(['--config', config], { HOME: home, PATH: bin.PATH })).report, 'agent.claude-code');
  assert.equal(loggedIn.status, 'ok');
  assert.match(loggedIn.summary, /signed in with its own login/);

  const other = localConfig({ agents: { 'claude-code': { env: { ANTHROPIC_API_KEY: 'from-the-yaml-0123456789' } } } });
  const fromYaml = checkOf(
    (await doctorJson(['--config', other.config], { HOME: other.home, PATH: bin.PATH })).report,
    'agent.claude-code',
  );
  assert.equal(fromYaml.status, 'ok');
  assert.match(
    fromYaml.summary,
    new RegExp(`ANTHROPIC_API_KEY is set for it \\(from agents\\.claude-code\\.env in ${other.config.replace(/\./g, '\\.')}\\)`),
  );

  // agentEnv drops a variable whose value holds one of the runner's tokens: the agent would not get it.
  const { config: registered, env } = await registeredRunner();
  const heldBack = await doctorJson(['--config', registered], {
    ...env,
    PATH: bin.PATH,
    ANTHROPIC_API_KEY: `Bearer ${env.SIBYL_ACCESS_TOKEN}`,
  });
  const claude = checkOf(heldBack.report, 'agent.claude-code');
  assert.equal(claude.status, 'fail');
  assert.equal(
    claude.summary.split('; ')[1],
    "ANTHROPIC_API_KEY is set, but the runner keeps it from agents: its value contains the runner's own token",
  );
  assert.equal(heldBack.code, 1);
});

test('a runner.yaml that does not parse is a failed check naming the file, exit 1; a bad option is exit 2', async () => {
  const { home, config } = localConfig({ max_concurrent_agents: 99 });
  const { code, report } = await doctorJson(['--config', config], { HOME: home, PATH: fakeBin().PATH });
  assert.equal(code, 1);
  assert.equal(report.checks.length, 1);
  const check = checkOf(report, 'config');
  assert.equal(check.status, 'fail');
  assert.ok(check.summary.includes(config), check.summary);
  assert.equal(check.fix, `edit ${config}`);
  const usage = await doctor(['--bogus'], { HOME: home, PATH: fakeBin().PATH });
  assert.equal(usage.code, 2);
  assert.match(usage.stderr, /sibyl-runner doctor: .*--bogus.*see `sibyl-runner doctor --help`/);
  const help = await doctor(['--help'], { HOME: home });
  assert.equal(help.code, 0);
  assert.match(help.stdout, /Check ids: config, git, worktreeFolder/);
});

test('colour on a terminal only, and never with NO_COLOR', async () => {
  const { home, config } = localConfig();
  const env = { HOME: home, PATH: fakeBin().PATH };
  const tty = await doctor(['--config', config], env, true);
  assert.ok(tty.stdout.includes('\x1b[31m✗\x1b[0m server'), tty.stdout);
  assert.ok(tty.stdout.includes('\x1b[32m✓\x1b[0m git'));
  const plain = await doctor(['--config', config], { ...env, NO_COLOR: '1' }, true);
  assert.ok(!plain.stdout.includes('\x1b['));
  assert.match(plain.stdout, /^✗ server/m);
});

test('words: network errors, clock skew, spans of time, git versions', () => {
  const url = new URL('https://sibyl.example.com/api/health');
  assert.equal(unreachableWords('ECONNREFUSED', url).summary, 'Nothing is answering at sibyl.example.com:443 — is Sibyl running?');
  assert.equal(unreachableWords('ENOTFOUND', url).summary, "Can't find sibyl.example.com: no such host");
  assert.match(unreachableWords('CERT_HAS_EXPIRED', url).fix, /NODE_EXTRA_CA_CERTS/);
  assert.equal(unreachableWords(undefined, new URL('http://10.0.0.1:8080/api/health')).summary, "Can't reach 10.0.0.1:8080");

  const t = Date.parse('2026-02-07T18:22:05Z');
  assert.equal(clockCheck(new Date(t).toUTCString(), t - 100, t + 100).status, 'ok');
  const ahead = clockCheck(new Date(t).toUTCString(), t + 180_000, t + 180_000);
  assert.equal(ahead.status, 'warn');
  assert.equal(ahead.summary, "This machine's clock is 3 minutes ahead of the server's");
  assert.equal(clockCheck(null, t, t).status, 'skip');

  assert.equal(timeSpan(3599.9), '1 hour');
  assert.equal(timeSpan(3 * 86400 - 0.5), '3 days');
  assert.equal(timeSpan(47 * 3600), '47 hours');
  assert.equal(timeSpan(1), '1 second');
  assert.equal(timeSpan(-90), '2 minutes');

  assert.deepEqual(parseGitVersion('git version 2.39.5 (Apple Git-154)'), [2, 39, 5]);
  assert.deepEqual(parseGitVersion('git version 2.45.1.windows.1'), [2, 45, 1]);
  assert.equal(parseGitVersion('not git'), undefined);
});

test('withDeadline: a check that hangs is answered at the bound, and its work is told to stop', async () => {
  let aborted = false;
  const result = await withDeadline(
    50,
    (signal) =>
      new Promise<string>(() => {
        signal.addEventListener('abort', () => (aborted = true));
      }),
    (why) => (why === 'timeout' ? 'late' : why.message),
  );
  assert.equal(result, 'late');
  assert.equal(aborted, true);
  assert.equal(
    await withDeadline(
      1000,
      () => Promise.reject(new Error('boom')),
      (why) => (why === 'timeout' ? 'late' : why.message),
    ),
    'boom',
  );
});
