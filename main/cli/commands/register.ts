import { hostname } from 'node:os';
import { dirname } from 'node:path';
import { normalizeServerUrl } from '../../runner/api/sibylApi.ts';
import { TokenProvider } from '../../runner/api/tokens.ts';
import { requireSecureTransport } from '../../runner/config/serverUrl.ts';
import type { ConfigFile } from '../../runner/config/schema.ts';
import { RunnerError, UsageError } from '../../runner/errors.ts';
import { agentCapabilities } from '../../runner/agents/detectAgents.ts';
import { detectedCapabilities } from '../../runner/projects/capabilities.ts';
import { ProjectLinks } from '../../runner/projects/links.ts';
import { registerThisMachine, replaceRegistration, type OldRunnerOutcome } from '../../runner/registration.ts';
import type { RunnerResponse } from '../../runner/api/schemas.ts';
import { readStateLock } from '../../runner/doctor/lock.ts';
import { redactUrl } from '../../runner/redact.ts';
import { intOption, parse, println, type Io } from '../args.ts';
import { commandContext, type CommandContext } from '../context.ts';
import { HELP } from '../help.ts';
import { deviceLogin } from './login.ts';
import type { SibylApi } from '../../runner/api/sibylApi.ts';

/** --token, else SIBYL_ACCESS_TOKEN, else the stored login for this server, else the device flow on a TTY. */
async function registrationToken(explicit: string | undefined, ctx: CommandContext, api: SibylApi, io: Io): Promise<string> {
  if (explicit?.trim()) return explicit.trim();
  if (io.env.SIBYL_ACCESS_TOKEN?.trim()) return io.env.SIBYL_ACCESS_TOKEN.trim();
  const creds = await ctx.credentials.load();
  if ((creds.access_token || creds.refresh_token) && creds.server_url === api.serverUrl) {
    return new TokenProvider(ctx.credentials, api).accessToken();
  }
  if (!io.isTTY) {
    throw new UsageError(
      `no token for ${api.serverUrl}. Pass --token TOKEN, set SIBYL_ACCESS_TOKEN, or run \`sibyl-runner login --server ${api.serverUrl}\` first.`,
    );
  }
  return deviceLogin(api, ctx.credentials, io);
}

/** The registration runner.yaml already holds, when there is one to replace. */
interface Previous {
  runnerId: string;
  name: string;
  serverUrl: string;
  /** the new registration goes to the same server, so the old runner can be deleted there with the same token */
  sameServer: boolean;
}

/**
 * Refuses to register a machine that is registered already, naming the runner, unless `replace`;
 * with `replace`, refuses while this configuration's daemon runs (the server deletes only an
 * offline runner, §3.6, and the daemon would go on as the deleted one).
 */
function previousRegistration(ctx: CommandContext, serverUrl: string, replace: boolean): Previous | undefined {
  const runnerId = ctx.config.runner_id;
  if (!runnerId) return undefined;
  const oldServer = ctx.config.server_url ? normalizeServerUrl(ctx.config.server_url) : '';
  const previous = { runnerId, name: ctx.config.name, serverUrl: oldServer, sameServer: oldServer === serverUrl };
  const which = `runner ${runnerId}${previous.name ? ` ("${previous.name}")` : ''}${oldServer ? ` with ${redactUrl(oldServer)}` : ''}`;
  if (!replace) {
    throw new RunnerError(
      'already_registered',
      `this machine is already registered as ${which} (runner_id in ${ctx.path}); pass --replace to unregister it and register again, or --config PATH for a second runner`,
      { exitCode: 2, remedy: 'checkInput', context: { file: ctx.path, runnerId } },
    );
  }
  const lock = readStateLock(ctx.config.state_dir, ctx.path);
  if (lock.kind === 'held' && lock.sameConfig) {
    throw new RunnerError(
      'already_running',
      `${which} is running (pid ${lock.owner.pid}); stop it first (Ctrl+C, or \`sibyl-runner service stop\`), then register again`,
      { exitCode: 2, context: { file: ctx.path, pid: lock.owner.pid } },
    );
  }
  return previous;
}

/** What became of the old runner, in a line before the new registration's. */
function replacedLine(previous: Previous, outcome: OldRunnerOutcome | 'elsewhere' | undefined): string {
  switch (outcome) {
    case 'deleted':
      return `Unregistered the old runner ${previous.runnerId} on the server.`;
    case 'gone':
      return `The old runner ${previous.runnerId} was no longer on the server.`;
    default:
      return `The old runner ${previous.runnerId} stays on ${redactUrl(previous.serverUrl) || 'its server'}: it is another server; remove it there.`;
  }
}

export async function registerCommand(argv: string[], io: Io): Promise<number> {
  const { values } = parse('register', argv, {
    config: { type: 'string', short: 'c' },
    server: { type: 'string', short: 's' },
    name: { type: 'string', short: 'n' },
    'max-agents': { type: 'string', short: 'm' },
    capability: { type: 'string', multiple: true },
    token: { type: 'string' },
    json: { type: 'boolean' },
    replace: { type: 'boolean' },
  });
  if (values.help) return (println(io.stdout, HELP.register), 0);
  const ctx = commandContext(values.config !== undefined ? { config: values.config } : {}, io);
  const server = values.server ?? ctx.config.server_url;
  if (!server) throw new UsageError('--server URL is required');
  const serverUrl = normalizeServerUrl(server, values.server !== undefined ? '--server' : undefined);
  // Before any token is read or sent: plain HTTP to another machine is refused (or warned about once).
  requireSecureTransport(serverUrl, {
    allowInsecureHttp: ctx.config.allow_insecure_http,
    source: { ...(values.server !== undefined ? { label: '--server' } : {}), file: ctx.path },
  });
  const maxAgents = intOption('register', 'max-agents', values['max-agents'], 1, 20) ?? ctx.config.max_concurrent_agents;
  const name = (values.name ?? (ctx.config.name || hostname())).trim();
  if (!name || name.length > 255) throw new UsageError('--name must be 1–255 characters');
  // Before any token is asked for: registering again would leave the old runner listed on the server.
  const previous = previousRegistration(ctx, serverUrl, Boolean(values.replace));
  const api = ctx.api(serverUrl);
  const token = await registrationToken(values.token, ctx, api, io);
  const detected = await detectedCapabilities({
    links: new ProjectLinks({ homeDir: ctx.home, configDir: dirname(ctx.path) }),
    agents: () => agentCapabilities(ctx.config.agents, io.env),
  });
  const capabilities = [...new Set([...ctx.config.capabilities, ...(values.capability ?? []), ...detected])];
  const wanted = { name, maxAgents, capabilities };
  let replaced: OldRunnerOutcome | 'elsewhere' | undefined;
  let runner: RunnerResponse;
  if (previous?.sameServer) {
    // Forget the old id as soon as the server has let it go: a failed registration then leaves "not registered", not a deleted runner.
    ({ runner, old: replaced } = await replaceRegistration(api, token, previous.runnerId, wanted, () =>
      ctx.file.update({ runner_id: '', graph_runner_id: '' }),
    ));
  } else {
    runner = await registerThisMachine(api, token, wanted);
    if (previous) replaced = 'elsewhere';
  }
  // Only what registration decided: defaults the person never set stay out of their file.
  const decided: ConfigFile = { server_url: serverUrl, runner_id: runner.id, graph_runner_id: runner.graph_runner_id };
  if (values.name !== undefined) decided.name = name;
  if (values['max-agents'] !== undefined) decided.max_concurrent_agents = maxAgents;
  const configured = [...new Set([...ctx.config.capabilities, ...(values.capability ?? [])])];
  if (configured.length !== ctx.config.capabilities.length) decided.capabilities = configured;
  ctx.file.update(decided);
  if (values.json) {
    const old = previous ? { replaced_runner_id: previous.runnerId, replaced: replaced } : {};
    println(io.stdout, JSON.stringify({ runner_id: runner.id, graph_runner_id: runner.graph_runner_id, config_path: ctx.path, ...old }));
  } else {
    if (previous) println(io.stdout, replacedLine(previous, replaced));
    println(io.stdout, `Registered runner "${name}" with ${redactUrl(serverUrl)}`);
    println(io.stdout, `  runner id    ${runner.id}`);
    println(io.stdout, `  capabilities ${capabilities.join(', ') || '(none)'}`);
    println(io.stdout, `  config       ${ctx.path}`);
    println(io.stdout, 'Start it with `sibyl-runner run`.');
  }
  return 0;
}
