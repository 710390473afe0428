import type { CredentialStore } from '../config/credentials.ts';
import type { LoadedConfig } from '../config/loadConfig.ts';
import { probeAccount } from './account.ts';
import { probeAgents } from './agents.ts';
import {
  CHECK_DEADLINE_MS,
  check,
  isoTime,
  REQUEST_TIMEOUT_MS,
  unfinished,
  withDeadline,
  type DoctorCheck,
  type DoctorReport,
} from './check.ts';
import { checkFolder, type RunnerFolder } from './folders.ts';
import { checkGit } from './git.ts';
import { lockCheck, readStateLock } from './lock.ts';
import { probeServer } from './server.ts';

/**
 * `sibyl-runner doctor`: every check of what the runner needs, at once, each bounded, into one
 * report. The checks live one group per module beside this one; the faces print the report.
 */

export interface DoctorInput {
  loaded: LoadedConfig;
  /** the environment the runner would start with: agents, git and the tokens are judged by it */
  env: Record<string, string | undefined>;
  home: string;
  credentials: CredentialStore;
  /** per request or `--version` (default REQUEST_TIMEOUT_MS) */
  requestTimeoutMs?: number;
  /** per check, and so for doctor as a whole (default CHECK_DEADLINE_MS) */
  deadlineMs?: number;
  now?: () => number;
}

function configCheck(loaded: LoadedConfig): DoctorCheck {
  if (loaded.exists) return check('config', 'config', 'ok', `Using ${loaded.path}`, { detail: { path: loaded.path, exists: true } });
  return check('config', 'config', 'warn', `No runner.yaml at ${loaded.path}: the defaults apply`, {
    fix: 'run `sibyl-runner register --server URL` to create it, or pass --config PATH',
    detail: { path: loaded.path, exists: false },
  });
}

/** A report that says only that the configuration cannot be read: nothing else can be checked without it. */
export function configErrorReport(configPath: string, message: string, fix: string, startedAt: number = Date.now()): DoctorReport {
  return {
    ok: false,
    checkedAt: isoTime(startedAt),
    durationMs: Date.now() - startedAt,
    configPath,
    checks: [check('config', 'config', 'fail', message, { fix, detail: { path: configPath } })],
  };
}

/**
 * Runs every check concurrently and returns the report; never throws. Checks that need the server
 * (sign-in, registration) wait for its health answer and are skipped without it. Doctor ends
 * within `deadlineMs` (12 s) however the disks, the server and the CLIs behave.
 */
export async function runDoctor(input: DoctorInput): Promise<DoctorReport> {
  const now = input.now ?? Date.now;
  const startedAt = now();
  const { config, path: configPath } = input.loaded;
  const deadline = input.deadlineMs ?? CHECK_DEADLINE_MS;
  const timeoutMs = input.requestTimeoutMs ?? REQUEST_TIMEOUT_MS;
  const bounded = (id: string, title: string, run: (signal: AbortSignal) => Promise<DoctorCheck>): Promise<DoctorCheck> =>
    withDeadline(deadline, run, (why) => unfinished(id, title, deadline, why));

  const folders: RunnerFolder[] = [
    { id: 'worktreeFolder', title: 'worktrees', key: 'worktree_base', path: config.worktree_base },
    { id: 'stateFolder', title: 'state folder', key: 'state_dir', path: config.state_dir },
    { id: 'logFolder', title: 'logs', key: 'log_dir', path: config.log_dir },
  ];
  // Read first (a few ms): whether a daemon runs decides whether the sign-in may be renewed here.
  const lock = readStateLock(config.state_dir, configPath);
  const server = withDeadline(
    deadline,
    (signal) => probeServer(config.server_url, { allowInsecureHttp: config.allow_insecure_http, configPath, signal, timeoutMs, now }),
    (why) => ({
      server: unfinished('server', 'server', deadline, why),
      clock: check('clock', 'clock', 'skip', 'Not checked: needs an answer from the server'),
      reachable: false,
      serverUrl: undefined,
    }),
  );
  const account = withDeadline(
    deadline,
    (signal) =>
      probeAccount(
        { config, configPath, env: input.env, credentials: input.credentials, daemonRunning: lock.kind === 'held', timeoutMs, now },
        server,
        signal,
      ),
    (why) => ({
      token: unfinished('token', 'sign-in', deadline, why),
      registration: unfinished('registration', 'registration', deadline, why),
    }),
  );
  const agents = withDeadline(
    deadline,
    () => probeAgents({ config, configPath, env: input.env, credentials: input.credentials, home: input.home }),
    (why) => [unfinished('agents', 'agents', deadline, why)],
  );
  const [git, folderChecks] = await Promise.all([
    bounded('git', 'git', (signal) => checkGit(input.env, signal)),
    Promise.all(folders.map((f) => bounded(f.id, f.title, () => checkFolder(f, configPath)))),
  ]);
  const [probe, accountChecks, agentChecks] = await Promise.all([server, account, agents]);
  const checks = [
    configCheck(input.loaded),
    git,
    ...folderChecks,
    lockCheck(lock, config.state_dir, configPath),
    probe.server,
    probe.clock,
    accountChecks.token,
    accountChecks.registration,
    ...agentChecks,
  ];
  return {
    ok: checks.every((c) => c.status !== 'fail'),
    checkedAt: isoTime(startedAt),
    durationMs: Math.round(now() - startedAt),
    configPath,
    checks,
  };
}
