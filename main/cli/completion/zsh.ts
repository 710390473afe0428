import type { CommandSpec, CommandTable, OptionSpec } from '../commandTable.ts';

/** A word inside zsh single quotes. */
function quoted(text: string): string {
  return `'${text.replace(/'/g, `'\\''`)}'`;
}

/** Help text as an _arguments description: one line, no brackets (they end the description). */
function described(text: string): string {
  return text.replace(/\[/g, '(').replace(/]/g, ')').replace(/\\/g, '/');
}

/** `'(-c --config)'{-c,--config}'[runner.yaml to use]:PATH:_files'`: one spec per spelling, each excluding the others. */
function optionSpec(o: OptionSpec): string {
  const spellings = [...o.shorts.map((s) => `-${s}`), `--${o.long}`];
  const value = o.value === undefined ? '' : `:${o.value.toLowerCase().replace(/:/g, '\\:')}:${o.value === 'PATH' ? '_files' : ' '}`;
  const description = `[${described(o.description || o.long.replace(/-/g, ' '))}]${value}`;
  const exclusion = spellings.length > 1 ? quoted(`(${spellings.join(' ')})`) : '';
  const names = spellings.length > 1 ? `{${spellings.join(',')}}` : spellings[0];
  return `${exclusion}${names}${quoted(description)}`;
}

function commandCase(cmd: CommandSpec): string {
  const specs = cmd.options.map(optionSpec);
  if (cmd.subcommands.length > 0) {
    // Inside ((…)) zsh splits the items as shell words: every character but a letter or digit is escaped.
    const escaped = (text: string): string => text.replace(/[^\p{L}\p{N}]/gu, '\\$&');
    const subs = cmd.subcommands.map((s) =>
      s.description ? `${escaped(s.name)}\\:${escaped(described(s.description))}` : escaped(s.name),
    );
    specs.push(quoted(`1:sub-command:((${subs.join(' ')}))`));
  }
  // Task ids, project ids and the like cannot be listed here; a file name is the useful guess.
  specs.push(quoted('*:argument:_files'));
  return `    ${cmd.name})\n      _arguments -s -S \\\n        ${specs.join(' \\\n        ')}\n      ;;`;
}

/**
 * The zsh completion function, for `source <(…)` after compinit or as `_sibyl_runner` in $fpath
 * (the `#compdef` line): commands and sub-commands with their help text, options with their
 * descriptions, file names for PATH values and arguments.
 */
export function zshCompletion(table: CommandTable, version: string): string {
  const commands = table.commands.map((c) => `    ${quoted(`${c.name}:${c.summary}`)}`).join('\n');
  const top = table.topLevel.map((o) => {
    const spellings = [...o.shorts.map((s) => `-${s}`), `--${o.long}`];
    return `${quoted('(- *)')}{${spellings.join(',')}}${quoted(`[${described(o.description)}]`)}`;
  });
  return `#compdef ${table.program}
# zsh completion for ${table.program} ${version}: \`${table.program} completion zsh\` printed it from its --help.
# Load it with: source <(${table.program} completion zsh)   (after compinit)

_sibyl_runner() {
  local curcontext=$curcontext state line ret=1
  local -a commands
  commands=(
${commands}
  )
  _arguments -C \\
    ${top.join(' \\\n    ')} \\
    '1: :->command' \\
    '*:: :->argument' && return 0
  case $state in
    command)
      _describe -t commands '${table.program} command' commands && ret=0
      ;;
    argument)
      case $words[1] in
${table.commands.map(commandCase).join('\n')}
      esac
      ret=$?
      ;;
  esac
  return ret
}

if [[ $funcstack[1] == _sibyl_runner ]]; then
  _sibyl_runner "$@"
else
  compdef _sibyl_runner ${table.program}
fi
`;
}
