import { createHash } from 'node:crypto';
import { TaskRejected } from '../errors.ts';
import type { TaskSpec } from '../tasks/taskSpec.ts';
import { redactUrl } from '../redact.ts';

// Moved to ../redact.ts (the logger and the faces use them too); re-exported for git's callers.
export { redactUrl, redactUrlsIn } from '../redact.ts';

/**
 * Pure checks on names the server sends us (config.branch, config.base_ref, config.repo_url), so
 * a hostile task is refused before `task_ack` and no such string ever reaches git as an option
 * (sibyl-protocol.md §7 R11). `git check-ref-format` still runs on the branch in `prepare`; these
 * rules are a superset of it, written out so validation is synchronous.
 */

const MAX_REF_LENGTH = 255; // `worktree_branch` is ≤255 chars on the server (§4.6.4)

/** Why `name` is not an acceptable ref name, or undefined when it is. */
export function refNameProblem(name: string, kind: 'branch' | 'base'): string | undefined {
  if (name.length === 0) return 'is empty';
  if (name.length > MAX_REF_LENGTH) return `is longer than ${MAX_REF_LENGTH} characters`;
  if (name.startsWith('-')) return 'starts with "-" (git would read it as an option)';
  // Spaces, ASCII control characters, DEL, C1 controls and Unicode line separators.
  // eslint-disable-next-line no-control-regex -- rejecting control characters is the point
  if (/[\x00-\x20\x7f\u0080-\u009f\u2028\u2029]/.test(name)) return 'contains a space or a control character';
  if (/[~^:?*[\\]/.test(name)) return 'contains one of ~ ^ : ? * [ \\';
  if (name.includes('..')) return 'contains ".."';
  if (name.includes('@{')) return 'contains "@{"';
  if (name === '@') return 'is "@"';
  if (name.startsWith('/') || name.endsWith('/') || name.includes('//')) return 'has an empty path component';
  if (name.endsWith('.')) return 'ends with "."';
  for (const part of name.split('/')) {
    if (part.startsWith('.')) return 'has a path component starting with "."';
    if (part.endsWith('.lock')) return 'has a path component ending with ".lock"';
  }
  if (kind === 'branch' && name === 'HEAD') return 'is "HEAD"';
  return undefined;
}

const URL_SCHEMES = /^(https?|ssh|git|file):\/\/[^\s]+$/i;
/** scp-like `user@host:path` / `host:path`; a `::` would select a remote helper such as `ext::`. */
const SCP_LIKE = /^([A-Za-z0-9._-]+@)?[A-Za-z0-9.-]+:(?!:)[^\s]+$/;

/** Why `url` is not an acceptable `config.repo_url`, or undefined when it is. */
export function repoUrlProblem(url: string): string | undefined {
  if (url.length > 2048) return 'is longer than 2048 characters';
  if (url.startsWith('-')) return 'starts with "-" (git would read it as an option)';
  // eslint-disable-next-line no-control-regex -- rejecting control characters is the point
  if (/[\x00-\x20\x7f]/.test(url)) return 'contains a space or a control character';
  if (url.includes('::')) return 'selects a git remote helper ("::"), which is not allowed';
  // ssh would read a host such as `-oProxyCommand=…` as an option (CVE-2017-1000117).
  if (/(:\/\/|@)-/.test(url)) return 'has a host or user starting with "-"';
  if (URL_SCHEMES.test(url) || SCP_LIKE.test(url)) return undefined;
  return 'is not an https, http, ssh, git or file URL, nor an scp-style user@host:path';
}

/** Protocols git may use for a server-supplied URL (GIT_ALLOW_PROTOCOL), matching repoUrlProblem. */
export const REPO_URL_PROTOCOLS = 'https:http:ssh:git:file';

/**
 * Refuse hostile `config.branch`, `config.base_branch`/`base_ref` and `config.repo_url` before
 * `task_ack` (synchronous; `prepare` runs it again and also asks `git check-ref-format`).
 */
export function validateGitRefs(spec: Pick<TaskSpec, 'branch' | 'baseRef' | 'repoUrl'>): void {
  const checks: Array<[string, string | undefined, string | undefined]> = [
    ['config.branch', spec.branch, spec.branch === undefined ? undefined : refNameProblem(spec.branch, 'branch')],
    ['config.base_branch', spec.baseRef, spec.baseRef === undefined ? undefined : refNameProblem(spec.baseRef, 'base')],
    ['config.repo_url', spec.repoUrl, spec.repoUrl === undefined ? undefined : repoUrlProblem(spec.repoUrl)],
  ];
  for (const [field, value, problem] of checks) {
    if (problem !== undefined) {
      const shown = field === 'config.repo_url' && value ? redactUrl(value) : (value ?? '');
      throw new TaskRejected('invalid_task', `${field} ${JSON.stringify(shown.slice(0, 80))} ${problem}`);
    }
  }
}

/** `sibyl/<first 8 characters of the task id>`, reduced to characters every ref name accepts. */
export function defaultBranchName(taskId: string): string {
  const short = taskId
    .slice(0, 8)
    .replace(/[^A-Za-z0-9_-]/g, '-')
    .replace(/^-+/, '');
  const name = `sibyl/${short}`;
  return short && refNameProblem(name, 'branch') === undefined
    ? name
    : `sibyl/${createHash('sha256').update(taskId).digest('hex').slice(0, 8)}`;
}
