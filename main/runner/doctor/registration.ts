import type { SibylApi } from '../api/sibylApi.ts';
import { AuthError, ConfigError, RunnerError, ServerError } from '../errors.ts';
import { redactUrl } from '../redact.ts';
import { check, isoTime, timeSpan, type DoctorCheck } from './check.ts';
import { errorText, signIn, type AccountInput } from './tokenSource.ts';

/** The registration check: the runner_id this configuration names, looked up on the server with the sign-in. */

function naiveUtc(ts: string): number {
  // REST timestamps are UTC without a zone designator (§1.2).
  return Date.parse(/[zZ]|[+-]\d\d:?\d\d$/.test(ts) ? ts : `${ts}Z`);
}

/** `GET /api/runners/{id}` (§3.4): the runner this configuration names exists on the server, in the token's organization. */
export async function checkRegistration(
  api: SibylApi,
  token: string,
  input: AccountInput,
  serverUrl: string,
  signal: AbortSignal,
): Promise<DoctorCheck> {
  const id = input.config.runner_id;
  const title = 'registration';
  const register = `run \`sibyl-runner register --server ${redactUrl(serverUrl)}\` to register this machine again (it writes the new runner_id into ${input.configPath})`;
  try {
    const runner = await api.getRunner(token, id, { signal });
    const beat = runner.last_heartbeat ? naiveUtc(runner.last_heartbeat) : NaN;
    const ago = Number.isFinite(beat) ? `, last heartbeat ${timeSpan(((input.now ?? Date.now)() - beat) / 1000)} ago` : '';
    return check('registration', title, 'ok', `Registered as "${runner.name}" (${runner.id}); the server shows it ${runner.status}${ago}`, {
      detail: {
        runnerId: runner.id,
        name: runner.name,
        serverStatus: runner.status,
        lastHeartbeat: Number.isFinite(beat) ? isoTime(beat) : null,
      },
    });
  } catch (err) {
    if (err instanceof ConfigError) {
      return check('registration', title, 'fail', `runner_id ${JSON.stringify(id)} is not a runner id (a UUID)`, {
        fix: register,
        detail: { runnerId: id },
      });
    }
    // 404 with the server's own "Runner not found" (remedy none); a missing route is remedy checkServer.
    if (err instanceof ServerError && err.status === 404 && err.remedy === 'none') {
      return check(
        'registration',
        title,
        'fail',
        `Runner ${id} is not on the server: it was deleted there (or belongs to another organization than the sign-in)`,
        {
          fix: register,
          detail: { runnerId: id, httpStatus: 404 },
        },
      );
    }
    // 401: the token itself is refused, which the sign-in check reports with its fix; 403: the token is
    // good but may not see this runner (another organization, a viewer).
    if (err instanceof AuthError && err.status === 401)
      return check('registration', title, 'skip', 'Not checked: the server refused the token', {
        detail: { runnerId: id, httpStatus: 401 },
      });
    if (err instanceof AuthError) {
      return check('registration', title, 'fail', `The server would not show runner ${id}: ${err.message}`, {
        fix: `sign in as a member of the runner's organization: ${signIn(serverUrl)}`,
        detail: { runnerId: id, httpStatus: err.status ?? null },
      });
    }
    return check('registration', title, 'fail', `Could not look up runner ${id}: ${errorText(err)}`, {
      fix: err instanceof RunnerError && err.remedy === 'retry' ? 'try again in a moment' : undefined,
      detail: { runnerId: id },
    });
  }
}
