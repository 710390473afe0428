import type { Remedy } from '../runner/errors.ts';
import type { Io } from './args.ts';
import type { CommandContext } from './context.ts';
import { remedyHint } from './remedies.ts';
import { tokenSource } from './tokenSource.ts';

/**
 * What to do about the link (its `remedy`), in CLI words, for `run` and `status` alike. A token
 * given in the environment or runner.yaml is used before the stored login (auth/authSource.ts), so
 * when the server refuses it, signing in again does not help until that token is fixed or removed.
 * Reads the command's own environment (`io.env`): for `status`, the same as the daemon's when both
 * were started from one shell. '' when there is nothing to do.
 */
export function linkNextStep(remedy: Remedy | undefined, ctx: CommandContext, io: Io): string {
  if (!remedy) return '';
  const source = remedy === 'signIn' ? tokenSource(ctx, io) : undefined;
  if (source?.from === 'env') return `fix or unset ${source.name}: it is used instead of the stored login`;
  if (source?.from === 'config') return `fix or remove ${source.key} in ${ctx.path}: it is used instead of the stored login`;
  return remedyHint(remedy, { serverUrl: ctx.config.server_url || undefined, configPath: ctx.path });
}
