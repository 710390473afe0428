import { hostname } from 'node:os';
import type { RunnerResponse } from './api/schemas.ts';
import type { SibylApi } from './api/sibylApi.ts';
import type { RunnerConfig } from './config/schema.ts';
import type { AuthSource } from './daemon.ts';
import type { Logger } from './logger.ts';
import { RUNNER_VERSION } from './version.ts';

/**
 * POST /api/runners/register for this machine (protocol §3.2), as the CLI and the desktop wizard
 * both do it. Raises AuthError (token refused) or ServerError (network, 422 name taken, 5xx).
 */
export function registerThisMachine(
  api: SibylApi,
  token: string,
  r: { name: string; maxAgents: number; capabilities: string[] },
): Promise<RunnerResponse> {
  return api.register(token, {
    name: r.name,
    hostname: hostname(),
    capabilities: r.capabilities,
    max_concurrent_agents: r.maxAgents,
    client_version: RUNNER_VERSION,
  });
}

/**
 * The server routes by its own copy of max_concurrent_agents and capabilities (§6), which only
 * registration or PATCH set; the original never pushed local changes (R8). At start-up, bring the
 * server's record in line with runner.yaml: capabilities are merged (server ∪ configured ∪
 * `detected`, e.g. the installed agent CLIs), never removed.
 * Raises what the API raises; callers run it in the background and log the failure.
 */
export async function syncRegistration(
  api: SibylApi,
  auth: AuthSource,
  config: RunnerConfig,
  log: Logger,
  detected: readonly string[] = [],
  /** aborts the requests (the runner is stopping: a hanging server must not keep the process alive) */
  signal?: AbortSignal,
): Promise<'unchanged' | 'updated' | 'skipped'> {
  const call = signal ? { signal } : undefined;
  if (config.sandbox_mode || !config.runner_id) return 'skipped';
  const token = await auth.accessToken();
  if (!token) return 'skipped';
  const server = await api.getRunner(token, config.runner_id, call);
  const capabilities = [...new Set([...server.capabilities, ...config.capabilities, ...detected])];
  const patch = {
    ...(server.max_concurrent_agents !== config.max_concurrent_agents ? { max_concurrent_agents: config.max_concurrent_agents } : {}),
    ...(capabilities.length !== server.capabilities.length ? { capabilities } : {}),
  };
  if (Object.keys(patch).length === 0) return 'unchanged';
  await api.patchRunner(token, config.runner_id, patch, call);
  log.info('server-side runner record updated', patch);
  return 'updated';
}
