import { hostname } from 'node:os';
import { dirname } from 'node:path';
import { normalizeServerUrl } from '../../runner/api/sibylApi.ts';
import { TokenProvider } from '../../runner/api/tokens.ts';
import { requireSecureTransport } from '../../runner/config/serverUrl.ts';
import type { ConfigFile } from '../../runner/config/schema.ts';
import { UsageError } from '../../runner/errors.ts';
import { agentCapabilities } from '../../runner/agents/detectAgents.ts';
import { detectedCapabilities } from '../../runner/projects/capabilities.ts';
import { ProjectLinks } from '../../runner/projects/links.ts';
import { registerThisMachine } from '../../runner/registration.ts';
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

export async function registerCommand(argv: string[], io: Io): Promise<number> {
  const { values } = parse('register', argv, {
    config: { type: 'string', short: 'c' },
    server: { type: 'string', short: 's' },
    name: { type: 'string', short: 'n' },
    'max-agents': { type: 'string', short: 'm' },
    capability: { type: 'string', multiple: true },
    token: { type: 'string' },
    json: { type: 'boolean' },
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
  const api = ctx.api(serverUrl);
  const token = await registrationToken(values.token, ctx, api, io);
  const detected = await detectedCapabilities({
    links: new ProjectLinks({ homeDir: ctx.home, configDir: dirname(ctx.path) }),
    agents: () => agentCapabilities(ctx.config.agents, io.env),
  });
  const capabilities = [...new Set([...ctx.config.capabilities, ...(values.capability ?? []), ...detected])];
  const runner = await registerThisMachine(api, token, { name, maxAgents, capabilities });
  // Only what registration decided: defaults the person never set stay out of their file.
  const decided: ConfigFile = { server_url: serverUrl, runner_id: runner.id, graph_runner_id: runner.graph_runner_id };
  if (values.name !== undefined) decided.name = name;
  if (values['max-agents'] !== undefined) decided.max_concurrent_agents = maxAgents;
  const configured = [...new Set([...ctx.config.capabilities, ...(values.capability ?? [])])];
  if (configured.length !== ctx.config.capabilities.length) decided.capabilities = configured;
  ctx.file.update(decided);
  if (values.json) {
    println(io.stdout, JSON.stringify({ runner_id: runner.id, graph_runner_id: runner.graph_runner_id, config_path: ctx.path }));
  } else {
    println(io.stdout, `Registered runner "${name}" with ${serverUrl}`);
    println(io.stdout, `  runner id    ${runner.id}`);
    println(io.stdout, `  capabilities ${capabilities.join(', ') || '(none)'}`);
    println(io.stdout, `  config       ${ctx.path}`);
    println(io.stdout, 'Start it with `sibyl-runner run`.');
  }
  return 0;
}
