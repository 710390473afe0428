// Shell completion is generated from the help texts (commandTable.ts). These tests hold the help, the
// dispatch table and the option parsers together, then run each script in its real shell: bash's
// completion function with COMP_WORDS, fish's own `complete -C`, zsh's parser and compinit.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { describe, test } from 'node:test';
import { commandTable } from '../../main/cli/commandTable.ts';
import { HELP } from '../../main/cli/help.ts';
import { COMMAND_NAMES, main } from '../../main/cli/index.ts';
import { cliRun } from '../helpers/runnerHarness.ts';
import { tempDir } from '../helpers/tmp.ts';

async function inProcess(argv: string[]): Promise<{ code: number; out: string; err: string }> {
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  let out = '';
  let err = '';
  stdout.on('data', (d: Buffer) => (out += d.toString()));
  stderr.on('data', (d: Buffer) => (err += d.toString()));
  const home = tempDir('sibyl-completion-');
  const code = await main(argv, { stdout, stderr, env: { HOME: home, PATH: process.env.PATH }, isTTY: false });
  return { code, out, err };
}

const table = commandTable();
const dir = tempDir('sibyl-completion-');

/** The script the real CLI prints for `shell`, saved to a file. */
async function script(shell: string): Promise<string> {
  const out = await cliRun(['completion', shell], {});
  assert.equal(out.code, 0, out.stderr);
  const file = join(dir, `completion.${shell}`);
  writeFileSync(file, out.stdout);
  return file;
}

const has = (shell: string): boolean => !spawnSync(shell, ['-c', 'exit 0']).error;

describe('the help is the table', () => {
  test('the main help lists exactly the commands the CLI dispatches, each with its own help', () => {
    assert.deepEqual(table.commands.map((c) => c.name).sort(), [...COMMAND_NAMES].sort());
    for (const name of COMMAND_NAMES) assert.ok(HELP[name], `HELP.${name} is missing`);
  });

  test('every option the help shows is one its command accepts', async () => {
    for (const cmd of table.commands)
      for (const option of cmd.options) {
        for (const spelling of [`--${option.long}`, ...option.shorts.map((s) => `-${s}`)]) {
          const argv = [cmd.name, spelling, ...(option.value !== undefined ? ['x'] : []), '--help'];
          const out = await inProcess(argv);
          assert.equal(out.code, 0, `sibyl-runner ${argv.join(' ')}: ${out.err}`);
          assert.equal(out.out, `${HELP[cmd.name]}\n`);
        }
      }
  });

  test('the table reads sub-commands, values and descriptions', () => {
    const byName = new Map(table.commands.map((c) => [c.name, c]));
    assert.deepEqual(
      byName.get('service')?.subcommands.map((s) => s.name),
      ['install', 'uninstall', 'start', 'stop', 'status'],
    );
    assert.deepEqual(
      byName.get('completion')?.subcommands.map((s) => s.name),
      ['bash', 'zsh', 'fish'],
    );
    assert.deepEqual(
      byName.get('projects')?.subcommands.map((s) => s.name),
      ['link', 'unlink', 'list'],
    );
    assert.equal(byName.get('projects')?.takesPath, true);
    const config = byName.get('register')?.options.find((o) => o.long === 'config');
    assert.deepEqual(config, { long: 'config', shorts: ['c'], value: 'PATH', description: 'runner.yaml to write' });
    assert.deepEqual(
      table.topLevel.map((o) => [o.long, o.shorts]),
      [
        ['help', ['h']],
        ['version', ['v', 'V']],
      ],
    );
  });

  test('--version, -V and -v print the version', async () => {
    const { version } = (await import('../../package.json', { with: { type: 'json' } })).default;
    for (const flag of ['--version', '-V', '-v']) assert.equal((await inProcess([flag])).out, `${version}\n`);
  });

  test('another shell is a usage error', async () => {
    const out = await cliRun(['completion', 'powershell'], {});
    assert.equal(out.code, 2);
    assert.match(out.stderr, /no completion for "powershell": bash, zsh, fish/);
  });
});

test('bash: the completion function offers commands, sub-commands and options', async () => {
  const file = await script('bash');
  /** What `_sibyl_runner` puts in COMPREPLY for a command line whose last word is being completed. */
  const complete = (...words: string[]): string[] => {
    const out = spawnSync(
      'bash',
      [
        '-c',
        `source "$1"; shift; COMP_WORDS=("$@"); COMP_CWORD=$(($# - 1)); _sibyl_runner; printf '%s\\n' "\${COMPREPLY[@]}"; complete -p sibyl-runner >&2`,
        'bash',
        file,
        'sibyl-runner',
        ...words,
      ],
      { encoding: 'utf8' },
    );
    assert.equal(out.status, 0, out.stderr);
    assert.equal(out.stderr.trim(), 'complete -o default -F _sibyl_runner sibyl-runner');
    return out.stdout.split('\n').filter(Boolean);
  };
  assert.deepEqual(complete('').sort(), [...table.commands.map((c) => c.name), '--help', '--version'].sort());
  assert.deepEqual(complete('se'), ['service']);
  assert.deepEqual(complete('service', ''), ['install', 'uninstall', 'start', 'stop', 'status']);
  // The value of --config is not taken for the sub-command.
  assert.deepEqual(complete('service', '--config', 'my.yaml', 'st'), ['start', 'stop', 'status']);
  assert.deepEqual(complete('service', 'install', ''), []);
  assert.deepEqual(complete('service', 'install', '--'), ['--config', '--dry-run', '--help']);
  assert.deepEqual(complete('run', '--max'), ['--max-agents']);
  // After an option that takes a value, bash's file names (complete -o default) take over.
  assert.deepEqual(complete('run', '--config', ''), []);
  assert.deepEqual(complete('completion', ''), ['bash', 'zsh', 'fish']);
});

test('fish: the script parses, and fish completes from it', async (t) => {
  if (!has('fish')) return t.skip('fish is not installed (Debian package fish)');
  const file = await script('fish');
  const syntax = spawnSync('fish', ['-n', file], { encoding: 'utf8' });
  assert.equal(syntax.status, 0, syntax.stderr);
  const complete = (line: string): string[] => {
    const out = spawnSync('fish', ['-c', `source '${file}'; complete -C '${line}'`], { encoding: 'utf8' });
    assert.equal(out.status, 0, out.stderr);
    return out.stdout
      .split('\n')
      .filter(Boolean)
      .map((l) => l.split('\t')[0] ?? '');
  };
  assert.deepEqual(complete('sibyl-runner ser'), ['service']);
  assert.deepEqual(complete('sibyl-runner service ').sort(), ['install', 'start', 'status', 'stop', 'uninstall']);
  assert.ok(complete('sibyl-runner service install --').includes('--dry-run'));
  assert.ok(complete('sibyl-runner run --').includes('--max-agents'));
  assert.deepEqual(complete('sibyl-runner completion ').sort(), ['bash', 'fish', 'zsh']);
});

test('zsh: the script parses, and loads as the completion of sibyl-runner', async (t) => {
  if (!has('zsh')) return t.skip('zsh is not installed (Debian package zsh)');
  const file = await script('zsh');
  const syntax = spawnSync('zsh', ['-n', file], { encoding: 'utf8' });
  assert.equal(syntax.status, 0, syntax.stderr);
  const load = spawnSync(
    'zsh',
    ['-fc', `autoload -U compinit && compinit -u -d '${join(dir, 'zcompdump')}' && source '${file}' && print -r -- $_comps[sibyl-runner]`],
    { encoding: 'utf8' },
  );
  assert.equal(load.status, 0, load.stderr);
  assert.equal(load.stdout.trim(), '_sibyl_runner');
  assert.equal(load.stderr, '');
});
