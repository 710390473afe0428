import { execFile } from 'node:child_process';
import { check, REQUEST_TIMEOUT_MS, type DoctorCheck } from './check.ts';

/**
 * The oldest git the runner works with: `git rev-parse --path-format=absolute` (git/git.ts
 * `repoInfo`, how every task finds its repository) came in 2.31; older git answers it with an
 * error, and every linked checkout would look like "not a git repository".
 */
export const MIN_GIT: readonly [number, number] = [2, 31];

const MIN_TEXT = `${MIN_GIT[0]}.${MIN_GIT[1]}`;
const INSTALL = `install git ${MIN_TEXT} or newer (apt install git, dnf install git, brew install git, or https://git-scm.com/downloads)`;

/** `[major, minor, patch]` of `git version 2.39.5 (Apple Git-154)`; undefined when it does not say. */
export function parseGitVersion(text: string): [number, number, number] | undefined {
  const m = /git version (\d+)\.(\d+)(?:\.(\d+))?/.exec(text);
  if (!m) return undefined;
  return [Number(m[1]), Number(m[2]), Number(m[3] ?? 0)];
}

/**
 * Whether the git on `env.PATH` — the one the runner starts (git/git.ts spawns plain `git`) — is
 * there and new enough for the runner's worktree commands.
 */
export function checkGit(env: Record<string, string | undefined>, signal: AbortSignal): Promise<DoctorCheck> {
  return new Promise((resolve) => {
    execFile('git', ['--version'], { env, timeout: REQUEST_TIMEOUT_MS, signal, windowsHide: true }, (err, stdout) => {
      const code = err && 'code' in err ? err.code : undefined;
      if (code === 'ENOENT') {
        resolve(check('git', 'git', 'fail', 'git is not installed (no `git` on PATH)', { fix: INSTALL }));
        return;
      }
      const version = parseGitVersion(stdout);
      if (err || !version) {
        const why = err?.killed
          ? `did not answer within ${REQUEST_TIMEOUT_MS / 1000} s`
          : `answered ${JSON.stringify(stdout.trim().slice(0, 80))}`;
        resolve(check('git', 'git', 'fail', `\`git --version\` ${why}`, { fix: `check the git on PATH, or ${INSTALL}` }));
        return;
      }
      const shown = version.join('.');
      const detail = { version: shown, minimum: MIN_TEXT };
      const [major, minor] = version;
      if (major < MIN_GIT[0] || (major === MIN_GIT[0] && minor < MIN_GIT[1])) {
        resolve(
          check('git', 'git', 'fail', `git ${shown} is too old: the runner's worktree commands need ${MIN_TEXT} or newer`, {
            fix: INSTALL,
            detail,
          }),
        );
        return;
      }
      resolve(check('git', 'git', 'ok', `git ${shown} (${MIN_TEXT} or newer needed)`, { detail }));
    });
  });
}
