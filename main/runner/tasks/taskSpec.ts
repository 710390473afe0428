import { isAbsolute, relative, resolve, sep } from 'node:path';
import { TaskRejected } from '../errors.ts';
import type { TaskAssign } from '../protocol/messages.ts';

/** A `task_assign` normalised from either shape (§4.8) and checked for anything that could escape a folder. */
export interface TaskSpec {
  taskId: string;
  agentId: string;
  projectId: string;
  prompt: string;
  agentType: string | undefined;
  /** argv of the task's own command (`config`) or of exec_command (`env`); empty when an agent CLI runs it (`agent`) */
  command: string[];
  commandSource: 'config' | 'env' | 'agent';
  timeoutSeconds: number;
  /** the task set its own timeout (else an agent's `timeout_seconds` may replace the default) */
  timeoutFromTask: boolean;
  worktreePath: string | undefined;
  branch: string | undefined;
  baseRef: string | undefined;
  repoUrl: string | undefined;
  shadow: boolean;
}

export interface SpecDefaults {
  worktreeBase: string;
  execCommand: string | undefined;
  executionTimeoutSeconds: number;
}

/**
 * Ids become file and folder names (`<worktree_base>/<project_id>/<task_id>`), so one rule that is
 * a portable file name on Linux, macOS and Windows: letters, digits, `.`, `_`, `-`; starting with
 * a letter or digit, not ending with `.` (Windows drops it), no `..`, at most 128 characters, and
 * not a Windows device name (CON, NUL, COM1…, also with an extension: `nul.txt` is the device
 * too). `:` is refused because on Windows it opens an alternate data stream, `@` with it. Real ids
 * (UUIDs, graph ids like `project_1a2b3c4d5e6f`) pass.
 */
const SAFE_ID = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;
const WINDOWS_DEVICE = /^(con|prn|aux|nul|com[1-9]|lpt[1-9])(\..*)?$/i;

/** The id rule in words, for error messages. */
export const SAFE_ID_RULE = 'letters, digits, . _ - only; no trailing dot, no "..", no Windows device name like CON or NUL';

/** Whether `value` is a portable file name by the rule above. */
export function isSafeId(value: string): boolean {
  return SAFE_ID.test(value) && !value.endsWith('.') && !value.includes('..') && !WINDOWS_DEVICE.test(value);
}

/** Raises TaskRejected `invalid_task` naming `field` and the rule unless `value` is a safe id. */
export function assertSafeId(field: string, value: string): void {
  if (!isSafeId(value)) {
    throw new TaskRejected('invalid_task', `${field} ${JSON.stringify(value.slice(0, 80))} is not a safe name (${SAFE_ID_RULE})`);
  }
}

function str(v: unknown): string | undefined {
  return typeof v === 'string' && v.trim() !== '' ? v : undefined;
}

/** config first, then top level (§8: "take each field from config first, then the top level"). */
function pick(msg: TaskAssign, key: string): unknown {
  const cfg = (msg.config ?? {}) as Record<string, unknown>;
  return cfg[key] !== undefined && cfg[key] !== null ? cfg[key] : (msg as Record<string, unknown>)[key];
}

export function resolvePrompt(msg: TaskAssign): string {
  const prompt = str(pick(msg, 'prompt'));
  if (prompt) return prompt.trim();
  const title = pick(msg, 'title');
  const description = pick(msg, 'description');
  if (typeof title === 'string' && typeof description === 'string') return `${title}\n\n${description}`;
  if (typeof title === 'string') return title;
  if (typeof description === 'string') return description;
  return '';
}

/**
 * The argv that runs a command string through the platform's shell: `/bin/sh -lc <script>`, or on
 * Windows `cmd.exe /d /s /c "<script>"` (no AutoRun, the outer quotes stripped by /s), which must be
 * spawned with `windowsVerbatimArguments` (see isCmdScriptArgv): Node's own quoting would turn the
 * script's `"` into `\"`, which cmd does not understand. The script is in the shell's own language:
 * `%VAR%` under cmd, `$VAR` under sh.
 */
export function shellArgv(script: string, platform: NodeJS.Platform = process.platform): string[] {
  return platform === 'win32' ? ['cmd.exe', '/d', '/s', '/c', `"${script}"`] : ['/bin/sh', '-lc', script];
}

/** Whether `argv` is shellArgv's cmd.exe form, to be passed to cmd verbatim (unquoted by Node). */
export function isCmdScriptArgv(argv: readonly string[]): boolean {
  const [file, d, s, c, script, ...rest] = argv;
  return (
    rest.length === 0 &&
    /^(?:.*\\)?cmd(?:\.exe)?$/i.test(file ?? '') &&
    d === '/d' &&
    s === '/s' &&
    c === '/c' &&
    script !== undefined &&
    script.length >= 2 &&
    script.startsWith('"') &&
    script.endsWith('"')
  );
}

function resolveCommand(msg: TaskAssign, execCommand: string | undefined): { argv: string[]; source: TaskSpec['commandSource'] } {
  for (const key of ['command', 'exec_command', 'runner_command']) {
    const v = pick(msg, key);
    if (Array.isArray(v) && v.length > 0) {
      if (!v.every((x): x is string => typeof x === 'string') || v[0] === '') {
        throw new TaskRejected('invalid_task', `config.${key} must be a non-empty list of strings`);
      }
      if (v.some((x) => x.includes('\0'))) throw new TaskRejected('invalid_task', `config.${key} contains a NUL byte`);
      return { argv: v, source: 'config' };
    }
    const s = str(v);
    if (s) {
      if (s.includes('\0')) throw new TaskRejected('invalid_task', `config.${key} contains a NUL byte`);
      return { argv: shellArgv(s), source: 'config' };
    }
  }
  if (execCommand && execCommand.trim()) return { argv: shellArgv(execCommand), source: 'env' };
  // No command: an agent CLI runs the prompt (agents/agentLauncher.ts chooses which).
  return { argv: [], source: 'agent' };
}

function resolveTimeout(msg: TaskAssign, fallback: number): { seconds: number; fromTask: boolean } {
  const v = pick(msg, 'timeout_seconds');
  const n = typeof v === 'number' ? v : typeof v === 'string' ? Number(v) : NaN;
  if (Number.isFinite(n) && n > 0) return { seconds: Math.min(n, 7 * 24 * 3600), fromTask: true };
  return { seconds: fallback, fromTask: false };
}

/**
 * `candidate` is strictly inside `base` by the text of the paths only: symlinks are not looked at
 * (workspace/containment.ts checks the resolved paths where folders are made, used and deleted).
 */
export function isInside(base: string, candidate: string): boolean {
  const rel = relative(resolve(base), resolve(candidate));
  return rel !== '' && rel !== '..' && !rel.startsWith(`..${sep}`) && !isAbsolute(rel);
}

export function toTaskSpec(msg: TaskAssign, defaults: SpecDefaults): TaskSpec {
  assertSafeId('task_id', msg.task_id);
  assertSafeId('agent_id', msg.agent_id);
  assertSafeId('project_id', msg.project_id);
  const worktreePath = str(pick(msg, 'worktree_path'));
  if (worktreePath !== undefined && (!isAbsolute(worktreePath) || !isInside(defaults.worktreeBase, worktreePath))) {
    throw new TaskRejected(
      'invalid_task',
      `config.worktree_path ${JSON.stringify(worktreePath)} is outside the runner's worktree base ${defaults.worktreeBase}`,
    );
  }
  const { argv, source } = resolveCommand(msg, defaults.execCommand);
  const timeout = resolveTimeout(msg, defaults.executionTimeoutSeconds);
  const optional = (key: string): string | undefined => {
    const v = pick(msg, key);
    if (v === undefined || v === null) return undefined;
    if (typeof v !== 'string') throw new TaskRejected('invalid_task', `config.${key} must be a string`);
    return str(v);
  };
  return {
    taskId: msg.task_id,
    agentId: msg.agent_id,
    projectId: msg.project_id,
    prompt: resolvePrompt(msg),
    agentType: str(pick(msg, 'agent_type')),
    command: argv,
    commandSource: source,
    timeoutSeconds: timeout.seconds,
    timeoutFromTask: timeout.fromTask,
    worktreePath: worktreePath ? resolve(worktreePath) : undefined,
    branch: optional('branch'),
    baseRef: optional('base_branch') ?? optional('base_ref'),
    repoUrl: optional('repo_url'),
    shadow: pick(msg, 'shadow') === true,
  };
}
