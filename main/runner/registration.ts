import { hostname } from 'node:os';
import type { RunnerResponse } from './api/schemas.ts';
import type { SibylApi } from './api/sibylApi.ts';
import type { RunnerConfig } from './config/schema.ts';
import type { AuthSource } from './daemon.ts';
import { RunnerError, ServerError } from './errors.ts';
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

/** What became of the runner this machine was registered as. */
export type OldRunnerOutcome =
  /** deleted on the server now */
  | 'deleted'
  /** the server no longer had it (deleted there already, or in another organization) */
  | 'gone';

/**
 * `DELETE /api/runners/{id}` (§3.6) for the runner this machine was registered as. A runner the
 * server no longer has is `gone`, not an error. Raises RunnerError `runner_online` when the
 * server still sees it connected (§3.6 deletes only an offline runner: stop it, then retry),
 * AuthError when the token is refused or its user may not delete it (403 "Cannot delete runner
 * you don't own": sign in as its owner or an org admin), and what the API raises otherwise.
 */
export async function unregisterRunner(api: SibylApi, token: string, runnerId: string): Promise<OldRunnerOutcome> {
  try {
    await api.deleteRunner(token, runnerId);
    return 'deleted';
  } catch (err) {
    // The server's own "Runner not found" (remedy none); a missing route stays an error.
    if (err instanceof ServerError && err.status === 404 && err.remedy === 'none') return 'gone';
    if (err instanceof ServerError && err.status === 400) {
      throw new RunnerError('runner_online', `the server still sees runner ${runnerId} connected, and deletes only an offline runner`, {
        cause: err,
        remedy: 'retry',
        context: { runnerId, serverUrl: api.serverUrl },
      });
    }
    throw err;
  }
}

/**
 * Register this machine anew in place of `oldRunnerId` (the CLI's `register --replace`, the
 * window's "Re-register…"): the old runner is unregistered on the server first, so the server
 * never lists two runners for one machine; then POST /api/runners/register. `oldRunnerId` must
 * be on the server `api` talks to (the token is that server's). Raises what `unregisterRunner`
 * and `registerThisMachine` raise; when registering fails after the delete, the old runner is
 * gone and the caller must not keep its id (`onUnregistered` runs right after the delete, to
 * forget it before anything else can fail).
 */
export async function replaceRegistration(
  api: SibylApi,
  token: string,
  oldRunnerId: string,
  r: { name: string; maxAgents: number; capabilities: string[] },
  onUnregistered?: (outcome: OldRunnerOutcome) => void,
): Promise<{ runner: RunnerResponse; old: OldRunnerOutcome }> {
  const old = await unregisterRunner(api, token, oldRunnerId);
  onUnregistered?.(old);
  const runner = await registerThisMachine(api, token, r);
  return { runner, old };
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
