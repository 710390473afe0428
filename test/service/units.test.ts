// The unit files the service command writes, per OS, checked by the tools that read them: systemd's
// own parser (`systemd-analyze verify`, where the machine has it) and a property-list parser. Paths
// with spaces, quotes, `%`, `$` and backslashes must come out of each format as they went in.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { parse as parsePlist } from 'plist';
import * as z from 'zod';
import { launchdLogFile, launchdPlist } from '../../main/runner/service/launchd.ts';
import { scheduledTaskXml, windowsArgument } from '../../main/runner/service/scheduledTask.ts';
import { runArguments, serviceSpec, type ServiceSpec } from '../../main/runner/service/spec.ts';
import { systemdUnit } from '../../main/runner/service/systemd.ts';
import { RunnerError } from '../../main/runner/errors.ts';
import { tempDir } from '../helpers/tmp.ts';

/** A folder name with every character a unit format treats specially. */
const AWKWARD = `we ird "quoted" 50% $HOME \\back`;

function specIn(dir: string, overrides: Partial<Parameters<typeof serviceSpec>[0]> = {}): ServiceSpec {
  return serviceSpec({
    node: process.execPath,
    launcher: join(dir, 'bin', 'sibyl-runner.js'),
    configPath: join(dir, 'runner.yaml'),
    drainTimeoutSeconds: 45,
    home: dir,
    env: { PATH: `/usr/bin:${dir}/bin`, SIBYL_ACCESS_TOKEN: 'secret-token' },
    ...overrides,
  });
}

test('the spec: absolute paths, drain_timeout + 10 s to stop, PATH and nothing secret from the environment', () => {
  const spec = specIn('/home/dana', { drainTimeoutSeconds: 30.2 });
  assert.equal(spec.stopTimeoutSeconds, 41);
  assert.deepEqual(spec.env, { PATH: '/usr/bin:/home/dana/bin' });
  assert.deepEqual(runArguments(spec), ['/home/dana/bin/sibyl-runner.js', 'run', '--config', '/home/dana/runner.yaml']);
  assert.deepEqual(specIn('/home/dana', { electron: true }).env.ELECTRON_RUN_AS_NODE, '1');
  assert.throws(
    () => specIn('/home/dana', { configPath: '/home/dana/run\nner.yaml' }),
    (err) => err instanceof RunnerError && err.code === 'service_path_invalid',
  );
});

test('the systemd unit has the restart, stop and logging settings', () => {
  const unit = systemdUnit(specIn('/home/dana'));
  const keys = new Map(
    unit
      .split('\n')
      .filter((l) => /^\w+=/.test(l))
      .map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]),
  );
  assert.equal(keys.get('ExecStart'), `${process.execPath} /home/dana/bin/sibyl-runner.js run --config /home/dana/runner.yaml`);
  assert.equal(keys.get('Restart'), 'on-failure');
  assert.equal(keys.get('RestartPreventExitStatus'), '2');
  assert.equal(keys.get('KillSignal'), 'SIGTERM');
  assert.equal(keys.get('KillMode'), 'mixed');
  assert.equal(keys.get('TimeoutStopSec'), '55');
  assert.equal(keys.get('StandardError'), 'journal');
  assert.equal(keys.get('SyslogIdentifier'), 'sibyl-runner');
  assert.equal(keys.get('WantedBy'), 'default.target');
  assert.equal(keys.get('Environment'), '"PATH=/usr/bin:/home/dana/bin"');
  assert.doesNotMatch(unit, /secret-token/);
});

test('the systemd unit escapes awkward paths in its own syntax', () => {
  const dir = `/opt/${AWKWARD}`;
  const unit = systemdUnit(specIn(dir));
  const exec = unit.split('\n').find((l) => l.startsWith('ExecStart='));
  // The executable is taken literally ($ stays), arguments expand $VAR (so $$); % is a specifier everywhere.
  const escaped = (s: string, dollar: string): string =>
    s.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/%/g, '%%').replace(/\$/g, dollar);
  assert.equal(
    exec,
    `ExecStart=${process.execPath} "${escaped(`${dir}/bin/sibyl-runner.js`, '$$$$')}" run --config "${escaped(`${dir}/runner.yaml`, '$$$$')}"`,
  );
});

test('the systemd unit refuses a Node path that systemd will not run', () => {
  for (const node of ['/opt/"node"/bin/node', "/opt/dana's/node", '/opt/back\\slash/node'])
    assert.throws(
      () => systemdUnit(specIn('/home/dana', { node })),
      (err) => err instanceof RunnerError && err.code === 'service_path_invalid' && err.message.includes(node),
    );
});

test('systemd-analyze verify accepts the unit, and finds the Node behind an awkward path', (t) => {
  if (spawnSync('systemd-analyze', ['--version']).error) return t.skip('systemd-analyze is not installed (Debian package systemd)');
  const dir = join(tempDir('sibyl-unit-'), AWKWARD);
  mkdirSync(join(dir, 'bin'), { recursive: true });
  // systemd checks that the executable exists: a link to this Node under an awkward name proves the path
  // decoded right. (It refuses quotes and backslashes in an executable's path: the unit refuses them first, below.)
  const nodeDir = join(tempDir('sibyl-unit-'), 'node 50% $HOME');
  mkdirSync(nodeDir);
  symlinkSync(process.execPath, join(nodeDir, 'no de'));
  const unitDir = tempDir('sibyl-unit-');
  for (const [name, node] of [
    ['plain', process.execPath],
    ['awkward', join(nodeDir, 'no de')],
  ] as const) {
    const file = join(unitDir, `sibyl-runner-${name}.service`);
    writeFileSync(file, systemdUnit(specIn(dir, { node })));
    const out = spawnSync('systemd-analyze', ['verify', file], { encoding: 'utf8' });
    assert.equal(out.status, 0, `${name}: ${out.stderr}`);
    assert.equal(out.stderr.trim(), '', `${name}: systemd-analyze warned`);
  }
  // The check is real: a Node path that does not exist fails it.
  const missing = join(unitDir, 'sibyl-runner-missing.service');
  writeFileSync(missing, systemdUnit(specIn(dir, { node: join(nodeDir, 'nothing here') })));
  const out = spawnSync('systemd-analyze', ['verify', missing], { encoding: 'utf8' });
  assert.notEqual(out.status, 0);
  assert.match(out.stderr, /is not executable/);
});

const LaunchAgent = z
  .object({
    Label: z.literal('dev.sibyl.runner'),
    ProgramArguments: z.array(z.string()),
    WorkingDirectory: z.string(),
    EnvironmentVariables: z.record(z.string(), z.string()),
    RunAtLoad: z.literal(true),
    KeepAlive: z.object({ SuccessfulExit: z.literal(false) }).strict(),
    ThrottleInterval: z.number().int(),
    ExitTimeOut: z.number().int(),
    StandardOutPath: z.string(),
    StandardErrorPath: z.string(),
  })
  .strict();

test('the LaunchAgent is a property list with the keys launchd reads, awkward paths intact', () => {
  const home = `/Users/${AWKWARD} <&>`;
  const spec = specIn(home);
  const parsed = LaunchAgent.parse(parsePlist(launchdPlist(spec)));
  assert.deepEqual(parsed.ProgramArguments, [process.execPath, ...runArguments(spec)]);
  assert.equal(parsed.ProgramArguments[1], `${home}/bin/sibyl-runner.js`);
  assert.equal(parsed.ExitTimeOut, 55);
  assert.equal(parsed.WorkingDirectory, home);
  assert.deepEqual(parsed.EnvironmentVariables, { PATH: `/usr/bin:${home}/bin` });
  assert.equal(parsed.StandardOutPath, `${home}/Library/Logs/sibyl-runner/sibyl-runner.log`);
  assert.equal(parsed.StandardErrorPath, launchdLogFile(home));
});

/**
 * How a Microsoft C runtime program splits its command line (the documented rules, "Parsing C
 * command-line arguments"): whitespace separates arguments outside quotes; 2n backslashes before a
 * quote are n backslashes and the quote opens or closes; 2n+1 are n backslashes and a literal quote.
 */
function splitWindowsCommandLine(line: string): string[] {
  const args: string[] = [];
  let current = '';
  let inQuotes = false;
  let started = false;
  for (let i = 0; i < line.length; i++) {
    const ch = line[i];
    if (ch === '\\') {
      let n = 0;
      for (; line[i] === '\\'; i++) n++;
      if (line[i] === '"') {
        current += '\\'.repeat(Math.floor(n / 2));
        if (n % 2 === 1) current += '"';
        else inQuotes = !inQuotes;
      } else {
        current += '\\'.repeat(n);
        i--;
      }
      started = true;
    } else if (ch === '"') {
      inQuotes = !inQuotes;
      started = true;
    } else if ((ch === ' ' || ch === '\t') && !inQuotes) {
      if (started) args.push(current);
      current = '';
      started = false;
    } else {
      current += ch;
      started = true;
    }
  }
  if (started) args.push(current);
  return args;
}

test('Windows arguments split back into what they were', () => {
  const cases = [
    'plain',
    'C:\\Program Files\\nodejs\\node.exe',
    'C:\\dir with space\\',
    'say "hi"',
    'a\\\\"b',
    '',
    'tab\there',
    `${AWKWARD}\\`,
  ];
  for (const arg of cases) assert.deepEqual(splitWindowsCommandLine(windowsArgument(arg)), [arg], JSON.stringify(arg));
  assert.equal(windowsArgument('C:\\Users\\dana\\runner.yaml'), 'C:\\Users\\dana\\runner.yaml');
  assert.equal(windowsArgument('C:\\Program Files\\x\\'), '"C:\\Program Files\\x\\\\"');
});

test('the Scheduled Task starts at logon, restarts on failure and runs the runner with its arguments intact', () => {
  const home = `C:\\Users\\${AWKWARD} & <co>`;
  const spec: ServiceSpec = {
    node: 'C:\\Program Files\\nodejs\\node.exe',
    launcher: `${home}\\AppData\\Roaming\\npm\\node_modules\\sibyl-runner\\bin\\sibyl-runner.js`,
    configPath: `${home}\\.config\\sibyl\\runner.yaml`,
    stopTimeoutSeconds: 40,
    env: {},
    home,
  };
  const xml = scheduledTaskXml(spec, 'DESKTOP-1\\dana');
  const element = (name: string): string[] =>
    [...xml.matchAll(new RegExp(`<${name}>([^<]*)</${name}>`, 'g'))].map((m) =>
      (m[1] ?? '')
        .replace(/&lt;/g, '<')
        .replace(/&gt;/g, '>')
        .replace(/&quot;/g, '"')
        .replace(/&amp;/g, '&'),
    );
  assert.match(xml, /^<\?xml version="1.0" encoding="UTF-16"\?>/);
  assert.match(xml, /<LogonTrigger>\s*<Enabled>true<\/Enabled>\s*<UserId>DESKTOP-1\\dana<\/UserId>/);
  assert.deepEqual(element('LogonType'), ['InteractiveToken']);
  assert.deepEqual(element('ExecutionTimeLimit'), ['PT0S']);
  assert.deepEqual(element('MultipleInstancesPolicy'), ['IgnoreNew']);
  assert.match(xml, /<RestartOnFailure>\s*<Interval>PT1M<\/Interval>\s*<Count>255<\/Count>\s*<\/RestartOnFailure>/);
  assert.deepEqual(splitWindowsCommandLine(element('Command')[0] ?? ''), [spec.node]);
  assert.deepEqual(splitWindowsCommandLine(element('Arguments')[0] ?? ''), runArguments(spec));
  assert.deepEqual(element('WorkingDirectory'), [home]);
  // Nothing but markup is left unescaped: no raw & or < inside an element's text.
  assert.doesNotMatch(xml.replace(/<[^>]*>/g, ''), /[<>]|&(?!amp;|lt;|gt;|quot;)/);
});
