import { isAbsolute, relative } from 'node:path';
import { oneLine } from '../vocabulary.ts';

/** A path as the user thinks of it: relative to the worktree when inside it. */
export function shownPath(path: string, cwd: string): string {
  if (!isAbsolute(path)) return path;
  const rel = relative(cwd, path);
  return rel && !rel.startsWith('..') && !isAbsolute(rel) ? rel : path;
}

const str = (v: unknown): string | undefined => (typeof v === 'string' && v.trim() ? v : undefined);

/**
 * A tool call in plain words, for the activity line and the timeline: "Editing src/upload.ts",
 * "Running: npm test", "Reading 3 files". Names are Claude Code's tools and Codex's item kinds;
 * an unknown tool reads "Using <name>".
 */
export function toolWords(name: string, input: Record<string, unknown>, cwd: string): string {
  const file = str(input.file_path) ?? str(input.path) ?? str(input.notebook_path);
  const at = file ? shownPath(file, cwd) : undefined;
  switch (name) {
    case 'Read':
      return at ? `Reading ${at}` : 'Reading a file';
    case 'Write':
      return at ? `Writing ${at}` : 'Writing a file';
    case 'Edit':
    case 'MultiEdit':
    case 'NotebookEdit':
      return at ? `Editing ${at}` : 'Editing a file';
    case 'Bash':
    case 'shell':
    case 'exec_command':
    case 'local_shell':
      return `Running: ${oneLine(commandText(input.command), 100) || 'a command'}`;
    case 'Glob':
      return `Finding files: ${oneLine(str(input.pattern) ?? '', 80)}`;
    case 'Grep':
      return `Searching for “${oneLine(str(input.pattern) ?? '', 60)}”`;
    case 'LS':
      return at ? `Listing ${at}` : 'Listing files';
    case 'TodoWrite':
    case 'update_plan':
      return 'Planning';
    case 'WebFetch':
      return `Fetching ${oneLine(str(input.url) ?? 'a page', 80)}`;
    case 'WebSearch':
      return `Searching the web: ${oneLine(str(input.query) ?? '', 80)}`;
    case 'Task':
      return `Delegating: ${oneLine(str(input.description) ?? 'a sub-task', 80)}`;
    case 'ExitPlanMode':
      return 'Presenting a plan';
    default:
      return `Using ${name}`;
  }
}

/** Shell commands arrive as a string or as argv (Codex: ["bash", "-lc", "npm test"]). */
export function commandText(command: unknown): string {
  if (typeof command === 'string') {
    // Codex prints `/bin/bash -lc "<script>"`: show the script, unquoted.
    const wrapped = /^(?:\S*\/)?(?:ba|z)?sh -l?c (["'])([\s\S]*)\1$/.exec(command);
    return wrapped ? wrapped[2]!.replace(/\\(["\\$`])/g, '$1') : command;
  }
  if (Array.isArray(command) && command.every((c) => typeof c === 'string')) {
    const argv = command;
    // bash -lc "<script>": the script is what the user would recognise.
    if (argv.length === 3 && /(^|\/)(ba|z)?sh$/.test(argv[0]!) && /^-l?c$/.test(argv[1]!)) return argv[2]!;
    return argv.join(' ');
  }
  return '';
}
