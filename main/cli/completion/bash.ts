import type { CommandSpec, CommandTable } from '../commandTable.ts';

/** Words bash reads inside single quotes: the table's names never hold a quote, but one would end the string. */
function words(list: string[]): string {
  return `'${list.join(' ').replace(/'/g, `'\\''`)}'`;
}

/** Every spelling of the options that take a value, for `case` and the value test. */
function valueOptions(cmd: CommandSpec): string[] {
  return cmd.options.filter((o) => o.value !== undefined).flatMap((o) => [`--${o.long}`, ...o.shorts.map((s) => `-${s}`)]);
}

function commandCase(cmd: CommandSpec): string {
  const lines = [
    `    ${cmd.name})`,
    `      opts=${words(cmd.options.map((o) => `--${o.long}`))}`,
    `      values=${words(valueOptions(cmd))}`,
    `      subs=${words(cmd.subcommands.map((s) => s.name))}`,
    '      ;;',
  ];
  return lines.join('\n');
}

/**
 * The bash completion script: a function for `complete -F` that completes the command, then its
 * sub-command, then its options; an option's value, and any other argument, falls back to
 * bash's file names (`complete -o default`). Written for bash 3.2 as well (macOS): no mapfile, no
 * associative arrays.
 */
export function bashCompletion(table: CommandTable, version: string): string {
  const top = [...table.commands.map((c) => c.name), ...table.topLevel.map((o) => `--${o.long}`)];
  return `# bash completion for ${table.program} ${version}: \`${table.program} completion bash\` printed it from its --help.
# Load it with: source <(${table.program} completion bash)
_sibyl_runner() {
  local cur=\${COMP_WORDS[COMP_CWORD]} prev=\${COMP_WORDS[COMP_CWORD-1]}
  local opts='' values='' subs='' i word skip=0 seen=''
  COMPREPLY=()
  if ((COMP_CWORD == 1)); then
    COMPREPLY=($(compgen -W ${words(top)} -- "$cur"))
    return 0
  fi
  case \${COMP_WORDS[1]} in
${table.commands.map(commandCase).join('\n')}
    *) return 0 ;;
  esac
  # The value of an option: bash's own file-name completion.
  [[ " $values " == *" $prev "* ]] && return 0
  if [[ $cur == -* ]]; then
    COMPREPLY=($(compgen -W "$opts" -- "$cur"))
    return 0
  fi
  [[ -z $subs ]] && return 0
  # The first word after the command that is neither an option nor an option's value is the sub-command.
  for ((i = 2; i < COMP_CWORD; i++)); do
    word=\${COMP_WORDS[i]}
    if ((skip)); then skip=0; continue; fi
    if [[ " $values " == *" $word "* ]]; then skip=1; continue; fi
    [[ $word == -* ]] && continue
    seen=$word
    break
  done
  [[ -z $seen ]] && COMPREPLY=($(compgen -W "$subs" -- "$cur"))
  return 0
}
complete -o default -F _sibyl_runner ${table.program}
`;
}
