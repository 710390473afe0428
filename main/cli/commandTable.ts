import { HELP } from './help.ts';

/** One option as the help shows it: `-c, --config PATH  runner.yaml to use`. */
export interface OptionSpec {
  /** without the dashes: `config` */
  long: string;
  /** single letters: `['c']`; most options have none */
  shorts: string[];
  /** the placeholder of its value (`PATH`, `URL`, `N`); undefined for a flag */
  value?: string;
  /** the help's words for it, on one line; '' when the help only shows it in a usage line */
  description: string;
}

export interface SubcommandSpec {
  name: string;
  /** the words after its usage line; '' when there are none */
  description: string;
}

export interface CommandSpec {
  name: string;
  /** its line in the main help */
  summary: string;
  /** `projects link|unlink|list`, `service install|…`, `completion bash|zsh|fish`; empty for most */
  subcommands: SubcommandSpec[];
  /** every option its help shows, `--help` included */
  options: OptionSpec[];
  /** it takes a file or folder as an argument (a `PATH` in its usage that belongs to no option) */
  takesPath: boolean;
}

/** What the shell completes: the commands, the options that go before one, the program's name. */
export interface CommandTable {
  program: string;
  commands: CommandSpec[];
  /** options of `sibyl-runner` itself: `--help`, `--version` */
  topLevel: OptionSpec[];
}

/** `  -c, --config PATH   text`, `      --dry-run   text`, or the option alone with its text on the next lines. */
const OPTION_LINE = /^\s+((?:-[A-Za-z], )*)--([a-z][\w-]*)(?: ([A-Z][\w:]*))?(?:\s{2,}(\S.*))?$/;
/** A usage line: `Usage: sibyl-runner history [--status S] …` or `  sibyl-runner projects link PATH …`. */
const USAGE_LINE = /^(?:Usage:)?\s*sibyl-runner ([a-z][\w-]*)(.*)$/;
const USAGE_OPTION = /(?<![\w-])--([a-z][\w-]*)(?: ([A-Z][\w:]*))?/g;
const SUBCOMMANDS = /^[a-z][\w-]*(?:\|[a-z][\w-]*)*$/;

/**
 * The commands and options, read from the help texts (help.ts), so what the shell completes is
 * what `--help` shows and cannot drift from it. The help follows three forms, kept by the tests:
 * the main help's "Commands:" section (`  name   summary`), option lines (`  -c, --config PATH
 * text`), and usage lines (`sibyl-runner NAME [sub|sub] [--option VALUE] …`, a description after
 * three spaces). A command's "Examples:" section, its last, is not read.
 */
export function commandTable(help: Readonly<Record<string, string>> = HELP): CommandTable {
  const main = help.main ?? '';
  const globals = optionLines(section(main, 'Global options:'));
  const helpOption = globals.find((o) => o.long === 'help') ?? { long: 'help', shorts: ['h'], description: 'Help for a command' };
  const commands = section(main, 'Commands:')
    .map((line) => /^\s+([a-z][\w-]*)\s+(\S.*)$/.exec(line))
    .filter((m): m is RegExpExecArray => m !== null)
    .map(([, name = '', summary = '']) => commandSpec(name, summary.trim(), help[name] ?? '', helpOption));
  return { program: 'sibyl-runner', commands, topLevel: globals.filter((o) => o.long === 'help' || o.long === 'version') };
}

function commandSpec(name: string, summary: string, text: string, helpOption: OptionSpec): CommandSpec {
  const options = new Map<string, OptionSpec>();
  const add = (o: OptionSpec): void => {
    const known = options.get(o.long);
    if (!known || (!known.description && o.description) || (known.shorts.length === 0 && o.shorts.length > 0)) options.set(o.long, o);
  };
  const subcommands: SubcommandSpec[] = [];
  let takesPath = false;
  // Examples are command lines with real values: they would read as usage lines.
  const lines = text.split('\nExamples:\n')[0]?.split('\n') ?? [];
  for (const line of lines) {
    const usage = USAGE_LINE.exec(line);
    if (!usage || usage[1] !== name) continue;
    const [words = '', description = ''] = (usage[2] ?? '').trim().split(/\s{3,}/);
    const [first] = words.split(/\s+/);
    if (first && SUBCOMMANDS.test(first))
      for (const sub of first.split('|')) if (!subcommands.some((s) => s.name === sub)) subcommands.push({ name: sub, description });
    for (const m of words.matchAll(USAGE_OPTION)) add({ long: m[1] ?? '', shorts: [], ...(m[2] ? { value: m[2] } : {}), description: '' });
    // A PATH that no option claims is an argument: `projects link PATH PROJECT_ID`.
    if (/(?:^|\s)PATH\b/.test(words.replace(USAGE_OPTION, ''))) takesPath = true;
  }
  for (const o of optionLines(lines)) add(o);
  add(helpOption);
  return { name, summary, subcommands, options: [...options.values()], takesPath };
}

/** The lines under a heading of the main help, up to the blank line that ends it. */
function section(text: string, heading: string): string[] {
  const lines = text.split('\n');
  const start = lines.indexOf(heading);
  if (start < 0) return [];
  const end = lines.indexOf('', start);
  return lines.slice(start + 1, end < 0 ? undefined : end);
}

function optionLines(lines: string[]): OptionSpec[] {
  const out: OptionSpec[] = [];
  lines.forEach((line, i) => {
    const m = OPTION_LINE.exec(line);
    if (!m) return;
    // The words go on over the more indented lines below (an option with a long placeholder starts them there).
    const words = m[4] === undefined ? [] : [m[4]];
    for (let j = i + 1; j < lines.length && /^\s{8,}\S/.test(lines[j] ?? '') && !OPTION_LINE.test(lines[j] ?? ''); j++)
      words.push((lines[j] ?? '').trim());
    const description = oneLine(words.join(' '));
    out.push({
      long: m[2] ?? '',
      shorts: [...(m[1] ?? '').matchAll(/-([A-Za-z])/g)].map((s) => s[1] ?? ''),
      ...(m[3] ? { value: m[3] } : {}),
      description,
    });
  });
  return out;
}

/** At most one sentence of about a line: shells show a description beside the option, cut at the terminal's edge. */
function oneLine(text: string, max = 80): string {
  // A sentence ends at a full stop before a capital: "e.g. https://…" goes on.
  const first = /^(.+?)\.\s+(?=[A-Z])/.exec(text)?.[1] ?? text.replace(/\.$/, '');
  if (first.length <= max) return first;
  return `${first.slice(0, first.lastIndexOf(' ', max - 1))}…`;
}
