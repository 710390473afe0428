// Issue 15, item 10: usage errors carry one prefix and the CLI's own words (not node's), typos get a
// suggestion, `help COMMAND` shows that command's help, and every command's help has one layout.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { commandTable } from '../../main/cli/commandTable.ts';
import { HELP } from '../../main/cli/help.ts';
import { COMMAND_NAMES } from '../../main/cli/index.ts';
import { closest } from '../../main/cli/suggest.ts';
import { cliInProcess } from '../helpers/cliInProcess.ts';
import { cliRun, writeYaml } from '../helpers/runnerHarness.ts';
import { tempDir } from '../helpers/tmp.ts';

const home = tempDir('sibyl-usage-');
const env = { HOME: home };

/**
 * The one line a usage error prints, after checking it is one line on stderr, nothing on stdout,
 * exit 2. In process (dozens of cases); the first test runs the installed command to hold the two together.
 */
async function usageLine(...argv: string[]): Promise<string> {
  const r = await cliInProcess(argv, env);
  assert.equal(r.code, 2, `${argv.join(' ')}: ${r.stderr}`);
  assert.equal(r.stdout, '');
  const lines = r.stderr.trimEnd().split('\n');
  assert.equal(lines.length, 1, r.stderr);
  return lines[0] ?? '';
}

describe("usage errors: one prefix, the CLI's words, a suggestion for a typo", () => {
  test('a mistyped command is suggested; an unknown one lists the commands', async () => {
    const installed = await cliRun(['regster'], env);
    assert.deepEqual(installed, { code: 2, stdout: '', stderr: 'sibyl-runner: unknown command "regster"; did you mean register?\n' });
    assert.equal(await usageLine('regster'), 'sibyl-runner: unknown command "regster"; did you mean register?');
    assert.equal(await usageLine('stauts'), 'sibyl-runner: unknown command "stauts"; did you mean status?');
    assert.equal(await usageLine('hist'), 'sibyl-runner: unknown command "hist"; did you mean history?');
    assert.equal(
      await usageLine('frobnicate'),
      `sibyl-runner: unknown command "frobnicate" (commands: ${COMMAND_NAMES.join(', ')}; see \`sibyl-runner --help\`)`,
    );
    assert.equal(await usageLine('--verison'), 'sibyl-runner: unknown option --verison; did you mean --version?');
  });

  test("a mistyped option is suggested, once prefixed, without node's wording", async () => {
    assert.equal(await usageLine('history', '--limt', '3'), 'sibyl-runner history: unknown option --limt; did you mean --limit?');
    assert.equal(await usageLine('status', '--jsno'), 'sibyl-runner status: unknown option --jsno; did you mean --json?');
    assert.equal(await usageLine('run', '--max-agent', '2'), 'sibyl-runner run: unknown option --max-agent; did you mean --max-agents?');
    assert.equal(await usageLine('logs', '--fol'), 'sibyl-runner logs: unknown option --fol; did you mean --follow?');
    assert.equal(await usageLine('status', '--bogus'), 'sibyl-runner status: unknown option --bogus (see `sibyl-runner status --help`)');
    assert.equal(await usageLine('status', '-x'), 'sibyl-runner status: unknown option -x (see `sibyl-runner status --help`)');
  });

  test('an option without its value is named with its placeholder from the help', async () => {
    assert.equal(await usageLine('run', '--max-agents'), 'sibyl-runner run: --max-agents needs a value: --max-agents N');
    assert.equal(await usageLine('run', '-m'), 'sibyl-runner run: -m needs a value: --max-agents N');
    assert.equal(await usageLine('history', '--status'), 'sibyl-runner history: --status needs a value: --status S');
    assert.equal(
      await usageLine('register', '--server', '--json'),
      'sibyl-runner register: --server needs a value: --server URL (a value starting with "-" is written --server=--json)',
    );
    assert.equal(await usageLine('status', '--json=yes'), 'sibyl-runner status: --json takes no value (got --json=yes)');
    assert.equal(await usageLine('status', 'extra'), 'sibyl-runner status: unexpected argument "extra" (see `sibyl-runner status --help`)');
  });

  test('sub-commands get suggestions too', async () => {
    assert.equal(await usageLine('projects', 'lst'), 'sibyl-runner projects: unknown subcommand "lst"; did you mean list?');
    assert.match(await usageLine('service', 'instal'), /^sibyl-runner service: unknown action "instal"; did you mean install\?$/);
    assert.match(await usageLine('completion', 'zhs'), /^sibyl-runner completion: no completion for "zhs"; did you mean zsh\?$/);
  });

  test('no message names its command twice or leaks node\'s "argument missing" or "Unknown option"', async () => {
    const cases = [
      ['run', '--max-agents'],
      ['run', '--bogus'],
      ['history', '--limit'],
      ['logs'],
      ['logs', '--search'],
      ['doctor', '--config'],
      ['service', 'install', '--config'],
      ['projects', 'link'],
      ['completion'],
    ];
    for (const argv of cases) {
      const line = await usageLine(...argv);
      const command = argv[0] ?? '';
      assert.ok(line.startsWith(`sibyl-runner ${command}: `), line);
      assert.ok(!line.startsWith(`sibyl-runner ${command}: ${command}:`), `named twice: ${line}`);
      assert.doesNotMatch(line, /argument missing|Unknown option|ERR_PARSE_ARGS|<value>/, line);
    }
  });

  test('the suggestion is the closest candidate, and none when nothing is close', () => {
    assert.equal(closest('regster', COMMAND_NAMES), 'register');
    assert.equal(closest('LOGS', COMMAND_NAMES), 'logs');
    assert.equal(closest('--max', ['--max-agents', '--metrics-listen', '--name']), '--max-agents');
    assert.equal(closest('x', COMMAND_NAMES), undefined);
    assert.equal(closest('deploy', COMMAND_NAMES), undefined);
    assert.equal(closest('', COMMAND_NAMES), undefined);
  });
});

describe('help', () => {
  test("`help COMMAND` prints that command's help, exactly as `COMMAND --help` does", async () => {
    for (const name of COMMAND_NAMES) {
      const viaHelp = await cliInProcess(['help', name], env);
      assert.equal(viaHelp.code, 0, viaHelp.stderr);
      assert.equal(viaHelp.stdout, `${HELP[name]}\n`, `help ${name}`);
      assert.notEqual(viaHelp.stdout, `${HELP.main}\n`);
    }
    const flag = await cliInProcess(['register', '--help'], env);
    assert.equal(flag.stdout, `${HELP.register}\n`);
    const bare = await cliInProcess(['help'], env);
    assert.equal(bare.code, 0);
    assert.equal(bare.stdout, `${HELP.main}\n`);
    assert.equal(await usageLine('help', 'regster'), 'sibyl-runner: unknown command "regster"; did you mean register?');
  });

  test("every command's help: Usage first, then the description, Options, and Examples last, each example a command line of its own", () => {
    for (const name of COMMAND_NAMES) {
      const text = HELP[name] ?? assert.fail(`no help for ${name}`);
      assert.match(text, new RegExp(`^Usage:(?: sibyl-runner ${name}|\\n  sibyl-runner ${name})`), `${name}: starts with its usage`);
      const sections = [...text.matchAll(/^([A-Z][A-Za-z ()-]*):$/gm)].map((m) => m[1]);
      assert.ok(sections.includes('Options'), `${name} has an Options: block`);
      assert.equal(sections.at(-1), 'Examples', `${name}: Examples come last`);
      const examples = (text.split('\nExamples:\n')[1] ?? '').split('\n');
      assert.ok(examples.length >= 1, `${name} has an example`);
      for (const line of examples) assert.match(line, new RegExp(`^  (?:source <\\()?sibyl-runner ${name}\\b`), `${name} example: ${line}`);
      // Options are indented, with two spaces or more before their words (the completion reads them).
      const options = (text.split('\nOptions:\n')[1] ?? '').split('\n\n')[0] ?? '';
      for (const line of options.split('\n'))
        assert.match(line, /^ {2}(?:-[A-Za-z], --|\s{4}--|\s{10,}\S)/, `${name} option line: ${line}`);
    }
  });

  test('the examples are not read as usage: completion offers the same options as before', () => {
    const table = commandTable();
    const register = table.commands.find((c) => c.name === 'register');
    assert.deepEqual(register?.subcommands, []);
    const logs = table.commands.find((c) => c.name === 'logs');
    assert.deepEqual(logs?.subcommands, []);
    assert.deepEqual(logs?.options.map((o) => o.long).sort(), ['config', 'follow', 'help', 'raw', 'search']);
  });

  test('--config before the command applies to it, as the main help\'s "Global options" say', async () => {
    const config = join(home, 'global.yaml');
    writeYaml(config, { server_url: 'https://sibyl.example.com', runner_id: 'r-global', name: 'global-box' });
    for (const argv of [
      ['--config', config, 'status', '--json'],
      ['-c', config, 'status', '--json'],
      [`--config=${config}`, 'status', '--json'],
    ]) {
      const r = await cliInProcess(argv, env);
      assert.equal(r.code, 0, `${argv.join(' ')}: ${r.stderr}`);
      const json = JSON.parse(r.stdout) as { configPath: string; runner: { name: string } };
      assert.equal(json.configPath, config);
      assert.equal(json.runner.name, 'global-box');
    }
  });
});
