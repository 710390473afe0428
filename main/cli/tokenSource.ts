import type { Io } from './args.ts';
import type { CommandContext } from './context.ts';

/**
 * Where the token the runner uses comes from when it is not the stored login: the environment
 * (`SIBYL_RUNNER_TOKEN`, `SIBYL_ACCESS_TOKEN`) or runner.yaml (`runner_token`, `access_token`).
 * Such a token is used before the stored login (auth/authSource.ts). Undefined: the stored login.
 * Reads the command's own environment (`io.env`).
 */
export function tokenSource(ctx: CommandContext, io: Io): { from: 'env'; name: string } | { from: 'config'; key: string } | undefined {
  const { config } = ctx;
  if (!config.runner_token && !config.access_token) return undefined;
  const [key, name] = config.runner_token ? ['runner_token', 'SIBYL_RUNNER_TOKEN'] : ['access_token', 'SIBYL_ACCESS_TOKEN'];
  return io.env[name]?.trim() ? { from: 'env', name } : { from: 'config', key };
}
