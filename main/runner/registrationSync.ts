import type { SibylApi } from './api/sibylApi.ts';
import type { RunnerConfig } from './config/schema.ts';
import type { AuthSource } from './daemon.ts';
import type { Logger } from './logger.ts';

/**
 * The server routes by its own copy of max_concurrent_agents and capabilities (§6), which only
 * registration or PATCH set; the original never pushed local changes (R8). At start-up, bring the
 * server's record in line with runner.yaml. Best effort: a failure is logged, never fatal.
 */
export async function syncRegistration(
  api: SibylApi,
  auth: AuthSource,
  config: RunnerConfig,
  log: Logger,
): Promise<'unchanged' | 'updated' | 'skipped'> {
  if (config.sandbox_mode || !config.runner_id) return 'skipped';
  const token = await auth.accessToken();
  if (!token) return 'skipped';
  const server = await api.getRunner(token, config.runner_id);
  const capabilities = [...new Set([...server.capabilities, ...config.capabilities])];
  const patch = {
    ...(server.max_concurrent_agents !== config.max_concurrent_agents ? { max_concurrent_agents: config.max_concurrent_agents } : {}),
    ...(capabilities.length !== server.capabilities.length ? { capabilities } : {}),
  };
  if (Object.keys(patch).length === 0) return 'unchanged';
  await api.patchRunner(token, config.runner_id, patch);
  log.info('server-side runner record updated', patch);
  return 'updated';
}
