import { hostname } from 'node:os';
import type { RunnerResponse } from './api/schemas.ts';
import type { SibylApi } from './api/sibylApi.ts';
import { RUNNER_VERSION } from './version.ts';

/** POST /api/runners/register for this machine (§3.2), as the CLI and the desktop wizard both do it. */
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
