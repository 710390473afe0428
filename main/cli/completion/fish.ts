import type { CommandSpec, CommandTable, OptionSpec } from '../commandTable.ts';

/** A word inside fish single quotes: only `\` and `'` are special there. */
function quoted(text: string): string {
  return `'${text.replace(/[\\']/g, '\\$&')}'`;
}

function optionLine(program: string, condition: string, o: OptionSpec): string {
  const parts = [`complete -c ${program} -n ${quoted(condition)}`];
  for (const s of o.shorts) parts.push(`-s ${s}`);
  parts.push(`-l ${o.long}`);
  // -r: takes a value; -F: file names for it; -x (= -r -f): a value that is not a file.
  if (o.value !== undefined) parts.push(o.value === 'PATH' ? '-r -F' : '-x');
  parts.push(`-d ${quoted(o.description || o.long.replace(/-/g, ' '))}`);
  return parts.join(' ');
}

function commandLines(program: string, cmd: CommandSpec): string[] {
  const inCommand = `__sibyl_runner_command_is ${cmd.name}`;
  const lines = [`complete -c ${program} -n __sibyl_runner_needs_command -a ${cmd.name} -d ${quoted(cmd.summary)}`];
  const subs = cmd.subcommands.map((s) => s.name);
  for (const s of cmd.subcommands)
    lines.push(
      `complete -c ${program} -n ${quoted(`${inCommand}; and not __fish_seen_subcommand_from ${subs.join(' ')}`)} -a ${s.name}${s.description ? ` -d ${quoted(s.description)}` : ''}`,
    );
  if (cmd.takesPath) lines.push(`complete -c ${program} -n ${quoted(inCommand)} -F`);
  for (const o of cmd.options) lines.push(optionLine(program, inCommand, o));
  return lines;
}

/**
 * The fish completion script: commands with their summaries, then each command's sub-commands
 * and options with the help's descriptions; file names only where the help says PATH.
 */
export function fishCompletion(table: CommandTable, version: string): string {
  const p = table.program;
  return `# fish completion for ${p} ${version}: \`${p} completion fish\` printed it from its --help.
# Install it with: ${p} completion fish > ~/.config/fish/completions/${p}.fish

# The command is the first word after the program; nothing else decides which options apply.
function __sibyl_runner_needs_command
    test (count (commandline -opc)) -eq 1
end
function __sibyl_runner_command_is
    set -l words (commandline -opc)
    test (count $words) -ge 2; and test "$words[2]" = "$argv[1]"
end

complete -c ${p} -f
${table.topLevel.map((o) => optionLine(p, '__sibyl_runner_needs_command', o)).join('\n')}
${table.commands.flatMap((c) => commandLines(p, c)).join('\n')}
`;
}
