import { existsSync } from 'node:fs';
import { homedir } from 'node:os';
import { loadConfig, RUNNER_ENV_VARS, type LoadedConfig } from '../../runner/config/loadConfig.ts';
import { Snapshot } from '../../runner/control/contract.ts';
import { controlRequest, controlSocketPath } from '../../runner/control/controlSocket.ts';
import { RunnerError, UsageError } from '../../runner/errors.ts';
import type { ServiceBackend, ServiceHost, ServiceStatus } from '../../runner/service/backend.ts';
import { currentHost, serviceBackend } from '../../runner/service/manager.ts';
import {
  commandLine,
  describeStep,
  executePlan,
  ServiceCommandError,
  spawnCommand,
  type CommandRunner,
} from '../../runner/service/plan.ts';
import { findLauncher, runArguments, serviceSpec } from '../../runner/service/spec.ts';
import { lingering, userManagerProblem } from '../../runner/service/systemd.ts';
import { linkDescription } from '../../runner/vocabulary.ts';
import { parse, println, type Io } from '../args.ts';
import { commandContext, type CommandContext } from '../context.ts';
import { HELP } from '../help.ts';
import { didYouMean } from '../suggest.ts';

const ACTIONS = ['install', 'uninstall', 'start', 'stop', 'status'] as const;
type Action = (typeof ACTIONS)[number];

/** What the command takes from this machine; tests give a temp HOME's host and a recording runner. */
export interface ServiceDeps {
  host?: ServiceHost;
  run?: CommandRunner;
  /** the Node the service runs on (default: this process's) */
  node?: string;
  /** bin/sibyl-runner.js (default: this installation's) */
  launcher?: string;
  /** the Node is Electron's, run in Node mode (the desktop app's bundled CLI) */
  electron?: boolean;
}

/**
 * `sibyl-runner service install|uninstall|start|stop|status [--config PATH] [--dry-run]`: runs
 * `sibyl-runner run --config <absolute path>` under this user's service manager. Exit 0 ok; 1 when
 * a service command fails (and, for `status`, unless the service is installed and running); 2 for
 * usage.
 */
export async function serviceCommand(argv: string[], io: Io, deps: ServiceDeps = {}): Promise<number> {
  const { values, positionals } = parse('service', argv, { config: { type: 'string', short: 'c' }, 'dry-run': { type: 'boolean' } }, 1);
  if (values.help) return (println(io.stdout, HELP.service), 0);
  const action = positionals[0];
  if (!isAction(action)) {
    const hint = action === undefined ? '' : didYouMean(action, ACTIONS);
    if (hint) throw new UsageError(`unknown action "${action}"${hint}`);
    throw new UsageError(
      `${action === undefined ? 'which action?' : `unknown action "${action}":`} ${ACTIONS.join(', ')} (see \`sibyl-runner service --help\`)`,
    );
  }
  const dryRun = values['dry-run'] === true;
  if (dryRun && action === 'status') throw new UsageError('--dry-run applies to install, uninstall, start and stop');
  const host = deps.host ?? currentHost(io.env.HOME || homedir(), io.env);
  const backend = serviceBackend(host);
  const run = deps.run ?? spawnCommand;
  // Only install and status read runner.yaml: a broken one must not keep the service from being stopped or removed.
  const context = (): CommandContext => commandContext(values.config !== undefined ? { config: values.config } : {}, io);
  try {
    switch (action) {
      case 'install':
        return await install({ ctx: context(), io, deps, host, backend, run, dryRun, configGiven: values.config !== undefined });
      case 'uninstall':
        return await uninstall(io, backend, run, dryRun);
      case 'start':
      case 'stop':
        return await startOrStop(action, io, backend, run, dryRun);
      case 'status':
        return await status(context(), io, backend, run);
    }
  } catch (err) {
    throw explained(err, host, backend);
  }
}

function isAction(word: string | undefined): word is Action {
  return (ACTIONS as readonly (string | undefined)[]).includes(word);
}

interface InstallContext {
  ctx: CommandContext;
  io: Io;
  deps: ServiceDeps;
  host: ServiceHost;
  backend: ServiceBackend;
  run: CommandRunner;
  dryRun: boolean;
  /** --config was given: the status hint repeats it */
  configGiven: boolean;
}

/**
 * runner.yaml as the service will read it: with none of this shell's SIBYL_* variables (the unit
 * passes PATH alone), so a runner_id that only SIBYL_RUNNER_ID gives does not count as registered.
 */
function asTheServiceSees(ctx: CommandContext, env: Io['env']): LoadedConfig {
  const bare = Object.fromEntries(Object.entries(env).filter(([name]) => !RUNNER_ENV_VARS.includes(name)));
  return loadConfig({ flags: { config: ctx.path }, env: bare, home: ctx.home, transport: 'unchecked' });
}

async function install({ ctx, io, deps, host, backend, run, dryRun, configGiven }: InstallContext): Promise<number> {
  const seen = asTheServiceSees(ctx, io.env);
  if (!seen.config.runner_id) {
    const why = existsSync(ctx.path) ? `${ctx.path} names no runner_id` : `${ctx.path} does not exist`;
    const fromShell = io.env.SIBYL_RUNNER_ID?.trim() ? ' (SIBYL_RUNNER_ID is set in this shell, but the service does not get it)' : '';
    const problem = `${why}: the service would stop at once${fromShell}`;
    if (!dryRun)
      throw new RunnerError('not_registered', problem, { remedy: 'register', context: { serverUrl: ctx.config.server_url || undefined } });
    println(io.stderr, `sibyl-runner service: note: ${problem}`);
  }
  const spec = serviceSpec({
    node: deps.node ?? process.execPath,
    launcher: deps.launcher ?? findLauncher(),
    configPath: ctx.path,
    drainTimeoutSeconds: seen.config.drain_timeout,
    home: host.home,
    env: io.env,
    electron: deps.electron ?? process.versions.electron !== undefined,
  });
  const steps = backend.install(spec);
  if (dryRun) {
    println(io.stdout, `# ${backend.kind}: ${backend.unitPath}`);
    println(io.stdout, backend.render(spec).trimEnd());
    println(io.stdout);
    println(io.stdout, '# What `sibyl-runner service install` does:');
    for (const step of steps) println(io.stdout, describeStep(step));
    return 0;
  }
  await executePlan(steps, run);
  println(io.stdout, `Installed the ${backend.kind} ${backend.unitPath} and started the runner.`);
  println(io.stdout, `  It runs  ${commandLine(spec.node, runArguments(spec))}`);
  println(io.stdout, `  Logs     ${backend.logs}`);
  println(io.stdout, `  Check    sibyl-runner service status${configGiven ? ` --config ${commandLine(ctx.path, [])}` : ''}`);
  const unseen = RUNNER_ENV_VARS.filter((name) => name !== 'SIBYL_CONFIG_FILE' && name !== 'SIBYL_CONFIG_DIR' && io.env[name]?.trim());
  if (unseen.length > 0)
    println(
      io.stdout,
      `Note: the service does not get ${unseen.join(', ')} from this shell; it reads runner.yaml and signs in with the stored login (\`sibyl-runner login\`).`,
    );
  if (host.platform === 'linux' && (await lingering(run, host.user)) !== true)
    println(
      io.stdout,
      `Note: systemd runs your services only while you are logged in. To keep the runner running without a login session (after a reboot, say): loginctl enable-linger ${host.user}`,
    );
  return 0;
}

async function uninstall(io: Io, backend: ServiceBackend, run: CommandRunner, dryRun: boolean): Promise<number> {
  const steps = backend.uninstall();
  if (dryRun) return (printSteps(io, 'uninstall', steps.map(describeStep)), 0);
  if (!(await backend.status(run)).installed) {
    println(io.stdout, `No ${backend.kind} is installed (${backend.unitPath}): nothing to remove.`);
    return 0;
  }
  await executePlan(steps, run);
  println(io.stdout, `Stopped the runner and removed the ${backend.kind} ${backend.unitPath}.`);
  return 0;
}

async function startOrStop(
  action: 'start' | 'stop',
  io: Io,
  backend: ServiceBackend,
  run: CommandRunner,
  dryRun: boolean,
): Promise<number> {
  const steps = action === 'start' ? backend.start() : backend.stop();
  if (dryRun) return (printSteps(io, action, steps.map(describeStep)), 0);
  if (!(await backend.status(run)).installed) throw notInstalled(backend);
  await executePlan(steps, run);
  println(io.stdout, action === 'start' ? 'Started the runner.' : 'Stopped the runner; it starts again at your next login.');
  return 0;
}

function printSteps(io: Io, action: string, lines: string[]): void {
  println(io.stdout, `# What \`sibyl-runner service ${action}\` does:`);
  for (const line of lines) println(io.stdout, line);
}

function notInstalled(backend: ServiceBackend): RunnerError {
  return new RunnerError(
    'service_not_installed',
    `no ${backend.kind} is installed (${backend.unitPath}); install it with \`sibyl-runner service install\``,
  );
}

async function status(ctx: CommandContext, io: Io, backend: ServiceBackend, run: CommandRunner): Promise<number> {
  const st = await backend.status(run);
  const reply = await controlRequest(controlSocketPath(ctx.path), { method: 'snapshot' });
  const live = reply?.ok ? Snapshot.safeParse(reply.result) : undefined;
  const snapshot = live?.success ? live.data : undefined;
  const rows: [string, string][] = [
    ['Service', `${backend.kind} ${backend.unitPath}`],
    ['Installed', !st.installed ? 'no' : st.enabled === false ? 'yes, not started at login' : 'yes'],
    ['State', stateLine(st)],
  ];
  if (snapshot) {
    const link = linkDescription({ registered: true, signedIn: true, attached: false, daemon: snapshot });
    rows.push(['Runner', `pid ${snapshot.pid}, ${link.label}${link.reason ? ` — ${link.reason}` : ''} (${ctx.path})`]);
  } else rows.push(['Runner', `not running for ${ctx.path}`]);
  rows.push(['Logs', backend.logs]);
  const width = Math.max(...rows.map(([k]) => k.length));
  for (const [k, v] of rows) println(io.stdout, `${k.padEnd(width)}  ${v}`);
  return st.installed && st.state === 'running' ? 0 : 1;
}

function stateLine(st: ServiceStatus): string {
  if (st.unavailable) return `unknown — ${st.unavailable}`;
  const pid = st.pid !== undefined ? ` (pid ${st.pid})` : '';
  return `${st.state}${pid}${st.detail && st.detail !== st.state ? ` — ${st.detail}` : ''}`;
}

/**
 * A failed systemctl because systemd's user manager is not running (a container, a session
 * without logind): said as that, with what to do; other errors as they are.
 */
function explained(err: unknown, host: ServiceHost, backend: ServiceBackend): unknown {
  if (!(err instanceof ServiceCommandError) || host.platform !== 'linux') return err;
  const problem = userManagerProblem(err.result.stderr || err.result.stdout);
  if (!problem.startsWith("systemd's user manager")) return err;
  return new RunnerError(
    'service_manager_unavailable',
    `${problem}. Log in as ${host.user} (or have root run \`loginctl enable-linger ${host.user}\`) and run the command again; the unit file is ${backend.unitPath}`,
    { cause: err, context: err.context },
  );
}
