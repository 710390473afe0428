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
  if (/[\x00-\x20\x7f]/.test(url)) return 'contains a space or a control character';
  if (url.includes('::')) return 'selects a git remote helper ("::"), which is not allowed';
  if (URL_SCHEMES.test(url) || SCP_LIKE.test(url)) return undefined;
  return 'is not an https, http, ssh, git or file URL, nor an scp-style user@host:path';
}

/** Protocols git may use for a server-supplied URL (GIT_ALLOW_PROTOCOL), matching repoUrlProblem. */
export const REPO_URL_PROTOCOLS = 'https:http:ssh:git:file';

/** `https://user:secret@host/x` → `https://user:***@host/x`, for logs and results. */
export function redactUrl(url: string): string {
  return url.replace(/^([a-z][a-z0-9+.-]*:\/\/)([^/@]*)@/i, (_m, scheme: string, userinfo: string) => {
    const user = userinfo.split(':')[0] ?? '';
    return userinfo.includes(':') ? `${scheme}${user}:***@` : `${scheme}${user ? '***' : ''}@`;
  });
}
