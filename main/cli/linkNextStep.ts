import type { Remedy } from '../runner/errors.ts';
import type { Io } from './args.ts';
import type { CommandContext } from './context.ts';
import { remedyHint } from './remedies.ts';

/**
 * What to do about the link (its `remedy`), in CLI words, for `run` and `status` alike. A token
 * given in the environment or runner.yaml is used before the stored login (auth/authSource.ts), so
 * when the server refuses it, signing in again does not help until that token is fixed or removed.
 * Reads the command's own environment (`io.env`): for `status`, the same as the daemon's when both
 * were started from one shell. '' when there is nothing to do.
 */
export function linkNextStep(remedy: Remedy | undefined, ctx: CommandContext, io: Io): string {
  if (!remedy) return '';
  if (remedy === 'signIn') {
    const { config } = ctx;
    const [key, envName] = config.runner_token ? ['runner_token', 'SIBYL_RUNNER_TOKEN'] : ['access_token', 'SIBYL_ACCESS_TOKEN'];
    if (config.runner_token || config.access_token) {
      return io.env[envName]?.trim()
        ? `fix or unset ${envName}: it is used instead of the stored login`
        : `fix or remove ${key} in ${ctx.path}: it is used instead of the stored login`;
    }
  }
  return remedyHint(remedy, { serverUrl: ctx.config.server_url || undefined, configPath: ctx.path });
}
