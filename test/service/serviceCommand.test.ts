// `sibyl-runner service …` in process under a temp HOME, with the OS commands answered by small
// fakes of systemctl, launchctl and schtasks that keep the state a real manager would (loaded,
// enabled, running) and read the unit files the command really wrote.
import assert from 'node:assert/strict';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { describe, test } from 'node:test';
import { parse as parsePlist } from 'plist';
import { serviceCommand } from '../../main/cli/commands/service.ts';
import { RunnerError } from '../../main/runner/errors.ts';
import type { ServiceHost } from '../../main/runner/service/backend.ts';
import type { CommandResult, CommandRunner } from '../../main/runner/service/plan.ts';
import { writeYaml } from '../helpers/runnerHarness.ts';
import { tempDir } from '../helpers/tmp.ts';

const NODE = '/opt/node 22/bin/node';
const LAUNCHER = '/opt/sibyl runner/bin/sibyl-runner.js';
const ok = (stdout = ''): CommandResult => ({ code: 0, stdout, stderr: '' });
const fail = (code: number, stderr: string): CommandResult => ({ code, stdout: '', stderr });

/** A fake OS: records every command line and answers through `answer`. */
abstract class FakeManager {
  readonly calls: string[] = [];
  readonly run: CommandRunner = async (file, args) => {
    this.calls.push([file, ...args].join(' '));
    return this.answer(file, args);
  };
  protected abstract answer(file: string, args: readonly string[]): CommandResult;
  /** The calls since the last `take()`. */
  take(): string[] {
    return this.calls.splice(0);
  }
}

/** systemctl --user and loginctl: daemon-reload reads the unit file from the user's unit folder. */
class FakeSystemd extends FakeManager {
  loaded = '';
  enabled = false;
  active = false;
  busDown = false;
  linger = 'no';
  private readonly unitPath: string;
  constructor(unitPath: string) {
    super();
    this.unitPath = unitPath;
  }
  protected answer(file: string, args: readonly string[]): CommandResult {
    if (file === 'loginctl') return ok(`${this.linger}\n`);
    assert.equal(file, 'systemctl');
    assert.equal(args[0], '--user');
    if (this.busDown) return fail(1, 'Failed to connect to bus: No medium found');
    const [verb, unit] = args.slice(1);
    const known = this.loaded !== '';
    switch (verb) {
      case 'daemon-reload':
        this.loaded = existsSync(this.unitPath) ? readFileSync(this.unitPath, 'utf8') : '';
        return ok();
      case 'enable':
        if (!known) return fail(1, `Failed to enable unit: Unit file ${unit} does not exist.`);
        this.enabled = true;
        return ok();
      case 'disable':
        this.enabled = false;
        return ok();
      case 'restart':
      case 'start':
        if (!known) return fail(5, `Failed to start ${unit}: Unit ${unit} not found.`);
        this.active = true;
        return ok();
      case 'stop':
        this.active = false;
        return known ? ok() : fail(5, `Failed to stop ${unit}: Unit ${unit} not loaded.`);
      case 'show':
        return ok(
          [
            `LoadState=${known ? 'loaded' : 'not-found'}`,
            `ActiveState=${this.active ? 'active' : 'inactive'}`,
            `SubState=${this.active ? 'running' : 'dead'}`,
            `UnitFileState=${this.enabled ? 'enabled' : known ? 'disabled' : ''}`,
            `MainPID=${this.active ? 4242 : 0}`,
          ].join('\n'),
        );
      default:
        return fail(1, `unknown verb ${verb}`);
    }
  }
}

/** launchctl: bootstrap parses the plist it is given, as launchd does. */
class FakeLaunchd extends FakeManager {
  loaded: Record<string, unknown> | undefined;
  protected answer(file: string, args: readonly string[]): CommandResult {
    assert.equal(file, 'launchctl');
    const [verb, target, path] = args;
    switch (verb) {
      case 'bootstrap':
        if (this.loaded) return fail(5, 'Bootstrap failed: 5: Input/output error');
        this.loaded = parsePlist(readFileSync(path ?? '', 'utf8')) as Record<string, unknown>;
        assert.equal(target, 'gui/501');
        return ok();
      case 'bootout':
        if (!this.loaded) return fail(3, 'Boot-out failed: 3: No such process');
        this.loaded = undefined;
        return ok();
      case 'enable':
      case 'kickstart':
        return this.loaded || verb === 'enable' ? ok() : fail(113, 'Could not find service');
      case 'print':
        return this.loaded
          ? ok(`${target} = {\n\tstate = running\n\tpid = 777\n\tlast exit code = (never exited)\n}`)
          : fail(113, 'Could not find service');
      default:
        return fail(1, `unknown verb ${verb}`);
    }
  }
}

/** schtasks: /Create reads the task definition, which must be UTF-16 with its byte-order mark. */
class FakeTaskScheduler extends FakeManager {
  task: string | undefined;
  running = false;
  protected answer(file: string, args: readonly string[]): CommandResult {
    assert.equal(file, 'C:\\Windows\\System32\\schtasks.exe');
    switch (args[0]) {
      case '/Create': {
        const raw = readFileSync(args[args.indexOf('/XML') + 1] ?? '');
        assert.deepEqual([...raw.subarray(0, 2)], [0xff, 0xfe], 'UTF-16LE byte-order mark');
        this.task = raw.toString('utf16le').slice(1);
        return ok('SUCCESS: The scheduled task "Sibyl Runner" has successfully been created.');
      }
      case '/Run':
        this.running = this.task !== undefined;
        return this.running ? ok() : fail(1, 'ERROR: The system cannot find the file specified.');
      case '/End':
        if (!this.running) return fail(1, 'ERROR: The task is not running.');
        this.running = false;
        return ok();
      case '/Delete':
        this.task = undefined;
        return ok();
      case '/Query':
        return this.task
          ? ok(`"\\Sibyl Runner","N/A","${this.running ? 'Running' : 'Ready'}"\r\n`)
          : fail(1, 'ERROR: The system cannot find the file specified.');
      default:
        return fail(1, `unknown ${args[0]}`);
    }
  }
}

interface World {
  home: string;
  config: string;
  host: ServiceHost;
}

function world(platform: NodeJS.Platform, registered = true): World {
  const home = tempDir('sibyl-service-');
  const config = join(home, 'runner.yaml');
  writeYaml(config, { server_url: 'https://sibyl.example.com', drain_timeout: 20, ...(registered ? { runner_id: 'runner-1' } : {}) });
  const env: Record<string, string> = { HOME: home, PATH: '/usr/local/bin:/usr/bin' };
  if (platform === 'win32') Object.assign(env, { USERDOMAIN: 'DESKTOP-1', SystemRoot: 'C:\\Windows' });
  return { home, config, host: { platform, home, env, uid: 501, user: 'dana' } };
}

async function service(w: World, manager: FakeManager, argv: string[], env: Record<string, string> = {}) {
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  let out = '';
  let err = '';
  stdout.on('data', (d: Buffer) => (out += d.toString()));
  stderr.on('data', (d: Buffer) => (err += d.toString()));
  const code = await serviceCommand(
    [...argv, '--config', w.config],
    { stdout, stderr, env: { ...w.host.env, ...env }, isTTY: false },
    {
      host: w.host,
      run: manager.run,
      node: NODE,
      launcher: LAUNCHER,
      electron: false,
    },
  );
  return { code, out, err };
}

const rejectsWith = (code: string, pattern?: RegExp) => (err: unknown) =>
  err instanceof RunnerError && err.code === code && (pattern === undefined || pattern.test(err.message));

describe('systemd (Linux)', () => {
  const unitOf = (w: World): string => join(w.home, '.config', 'systemd', 'user', 'sibyl-runner.service');

  test('install writes the unit, reloads, enables and starts it; status says so', async () => {
    const w = world('linux');
    const systemd = new FakeSystemd(unitOf(w));
    const installed = await service(w, systemd, ['install']);
    assert.equal(installed.code, 0, installed.err);
    const unit = readFileSync(unitOf(w), 'utf8');
    assert.match(unit, new RegExp(`^ExecStart="${NODE}" "${LAUNCHER}" run --config ${w.config}$`, 'm'));
    assert.match(unit, /^TimeoutStopSec=30$/m);
    assert.match(unit, /^Environment="PATH=\/usr\/local\/bin:\/usr\/bin"$/m);
    assert.deepEqual(systemd.take(), [
      'systemctl --user daemon-reload',
      'systemctl --user enable sibyl-runner.service',
      'systemctl --user restart sibyl-runner.service',
      'loginctl show-user dana --property=Linger --value',
    ]);
    assert.match(installed.out, /Installed the systemd user unit .*sibyl-runner\.service and started the runner/);
    assert.match(installed.out, /Logs +journalctl --user -u sibyl-runner -f/);
    assert.match(installed.out, /loginctl enable-linger dana/);

    const status = await service(w, systemd, ['status']);
    assert.equal(status.code, 0, status.out);
    assert.match(status.out, /^Installed +yes$/m);
    assert.match(status.out, /^State +running \(pid 4242\) — active \(running\)$/m);
    assert.match(status.out, new RegExp(`^Runner +not running for ${w.config}$`, 'm'));
  });

  test('installing twice rewrites the same unit and restarts the runner', async () => {
    const w = world('linux');
    const systemd = new FakeSystemd(unitOf(w));
    systemd.linger = 'yes';
    assert.equal((await service(w, systemd, ['install'])).code, 0);
    const first = readFileSync(unitOf(w), 'utf8');
    const firstCalls = systemd.take();
    const again = await service(w, systemd, ['install']);
    assert.equal(again.code, 0);
    assert.equal(readFileSync(unitOf(w), 'utf8'), first);
    assert.deepEqual(systemd.take(), firstCalls);
    assert.doesNotMatch(again.out, /enable-linger/, 'a lingering user gets no hint');
    assert.equal((await service(w, systemd, ['status'])).code, 0);
  });

  test('uninstall stops the runner before it removes the unit; a second uninstall has nothing to do', async () => {
    const w = world('linux');
    const systemd = new FakeSystemd(unitOf(w));
    await service(w, systemd, ['install']);
    systemd.take();
    const removed = await service(w, systemd, ['uninstall']);
    assert.equal(removed.code, 0, removed.err);
    assert.deepEqual(systemd.take().slice(1), [
      'systemctl --user stop sibyl-runner.service',
      'systemctl --user disable sibyl-runner.service',
      'systemctl --user daemon-reload',
    ]);
    assert.equal(existsSync(unitOf(w)), false);
    assert.equal(systemd.active, false);
    const status = await service(w, systemd, ['status']);
    assert.equal(status.code, 1);
    assert.match(status.out, /^Installed +no$/m);
    const again = await service(w, systemd, ['uninstall']);
    assert.equal(again.code, 0);
    assert.match(again.out, /nothing to remove/);
    assert.deepEqual(
      systemd.take().filter((c) => !c.includes(' show ')),
      [],
    );
  });

  test('stop and start: the unit stays, the runner stops and starts; neither works before install', async () => {
    const w = world('linux');
    const systemd = new FakeSystemd(unitOf(w));
    await assert.rejects(service(w, systemd, ['start']), rejectsWith('service_not_installed', /sibyl-runner service install/));
    await service(w, systemd, ['install']);
    assert.equal((await service(w, systemd, ['stop'])).code, 0);
    const stopped = await service(w, systemd, ['status']);
    assert.equal(stopped.code, 1);
    assert.match(stopped.out, /^State +stopped — inactive \(dead\)$/m);
    assert.equal((await service(w, systemd, ['start'])).code, 0);
    assert.equal((await service(w, systemd, ['status'])).code, 0);
  });

  test('--dry-run prints the unit and the commands, and changes nothing', async () => {
    const w = world('linux');
    const systemd = new FakeSystemd(unitOf(w));
    const dry = await service(w, systemd, ['install', '--dry-run']);
    assert.equal(dry.code, 0);
    assert.match(dry.out, /^# systemd user unit: .*sibyl-runner\.service$/m);
    assert.match(dry.out, /^\[Service\]$/m);
    assert.match(dry.out, /^systemctl --user restart sibyl-runner\.service$/m);
    assert.equal(existsSync(unitOf(w)), false);
    assert.deepEqual(systemd.calls, []);
    const uninstall = await service(w, systemd, ['uninstall', '--dry-run']);
    assert.match(uninstall.out, /^systemctl --user stop sibyl-runner\.service {3}# may fail: it was not running$/m);
    assert.deepEqual(systemd.calls, []);
  });

  test('an unregistered runner: install refuses, --dry-run notes it', async () => {
    const w = world('linux', false);
    const systemd = new FakeSystemd(unitOf(w));
    await assert.rejects(service(w, systemd, ['install']), rejectsWith('not_registered', /names no runner_id/));
    assert.equal(existsSync(unitOf(w)), false);
    const dry = await service(w, systemd, ['install', '--dry-run']);
    assert.equal(dry.code, 0);
    assert.match(dry.err, /note: .*names no runner_id/);
  });

  test("install judges runner.yaml as the service reads it: this shell's SIBYL_RUNNER_ID does not register it", async () => {
    const w = world('linux', false);
    const systemd = new FakeSystemd(unitOf(w));
    const env = { SIBYL_RUNNER_ID: 'runner-from-env', SIBYL_SERVER_URL: 'https://sibyl.example.com' };
    await assert.rejects(
      service(w, systemd, ['install'], env),
      rejectsWith(
        'not_registered',
        /names no runner_id: the service would stop at once \(SIBYL_RUNNER_ID is set in this shell, but the service does not get it\)/,
      ),
    );
    assert.equal(existsSync(unitOf(w)), false);
    assert.deepEqual(systemd.calls, []);
  });

  test('install of a configuration that does not exist says so', async () => {
    const w = world('linux');
    rmSync(w.config);
    const systemd = new FakeSystemd(unitOf(w));
    const dry = await service(w, systemd, ['install', '--dry-run']);
    assert.equal(dry.code, 0);
    assert.match(dry.err, /note: \S+runner\.yaml does not exist: the service would stop at once$/m);
    await assert.rejects(service(w, systemd, ['install']), rejectsWith('not_registered', /runner\.yaml does not exist/));
    assert.equal(existsSync(unitOf(w)), false);
  });

  test('without a running user manager, install says so and what to do', async () => {
    const w = world('linux');
    const systemd = new FakeSystemd(unitOf(w));
    systemd.busDown = true;
    await assert.rejects(
      service(w, systemd, ['install']),
      rejectsWith('service_manager_unavailable', /^systemd's user manager is not running for this user .*loginctl enable-linger dana/),
    );
    const status = await service(w, systemd, ['status']);
    assert.equal(status.code, 1);
    assert.match(status.out, /^State +unknown — systemd's user manager is not running/m);
  });

  test('variables from this shell that the service will not see are named, never written', async () => {
    const w = world('linux');
    const systemd = new FakeSystemd(unitOf(w));
    const out = await service(w, systemd, ['install'], { SIBYL_ACCESS_TOKEN: 'tok-123', SIBYL_AGENT: 'codex' });
    assert.match(out.out, /does not get SIBYL_ACCESS_TOKEN, SIBYL_AGENT from this shell/);
    assert.doesNotMatch(readFileSync(unitOf(w), 'utf8'), /tok-123|SIBYL_/);
  });
});

describe('launchd (macOS)', () => {
  test('install writes the LaunchAgent and loads it; uninstall unloads it first', async () => {
    const w = world('darwin');
    const launchd = new FakeLaunchd();
    const plistPath = join(w.home, 'Library', 'LaunchAgents', 'dev.sibyl.runner.plist');
    const installed = await service(w, launchd, ['install']);
    assert.equal(installed.code, 0, installed.err);
    assert.deepEqual(launchd.take(), [
      'launchctl bootout gui/501/dev.sibyl.runner',
      'launchctl enable gui/501/dev.sibyl.runner',
      `launchctl bootstrap gui/501 ${plistPath}`,
    ]);
    assert.deepEqual(launchd.loaded?.ProgramArguments, [NODE, LAUNCHER, 'run', '--config', w.config]);
    assert.equal(launchd.loaded?.ExitTimeOut, 30);
    assert.ok(existsSync(join(w.home, 'Library', 'Logs', 'sibyl-runner')), 'launchd needs the log folder to exist');
    assert.doesNotMatch(installed.out, /loginctl/);

    // Again: the running agent is unloaded, then the rewritten one loaded.
    assert.equal((await service(w, launchd, ['install'])).code, 0);
    assert.equal(launchd.take()[0], 'launchctl bootout gui/501/dev.sibyl.runner');
    const status = await service(w, launchd, ['status']);
    assert.equal(status.code, 0);
    assert.match(status.out, /^State +running \(pid 777\)/m);

    assert.equal((await service(w, launchd, ['uninstall'])).code, 0);
    assert.deepEqual(launchd.take().slice(-1), ['launchctl bootout gui/501/dev.sibyl.runner']);
    assert.equal(launchd.loaded, undefined);
    assert.equal(existsSync(plistPath), false);
  });

  test('stop unloads, start loads again', async () => {
    const w = world('darwin');
    const launchd = new FakeLaunchd();
    await service(w, launchd, ['install']);
    assert.equal((await service(w, launchd, ['stop'])).code, 0);
    assert.equal(launchd.loaded, undefined);
    assert.equal((await service(w, launchd, ['status'])).code, 1);
    assert.equal((await service(w, launchd, ['start'])).code, 0);
    assert.ok(launchd.loaded);
  });
});

describe('Task Scheduler (Windows)', () => {
  test('install creates the task from a UTF-16 definition and runs it; uninstall ends it first', async () => {
    const w = world('win32');
    const scheduler = new FakeTaskScheduler();
    const xmlPath = join(w.home, 'AppData', 'Local', 'sibyl-runner', 'service-task.xml');
    const installed = await service(w, scheduler, ['install']);
    assert.equal(installed.code, 0, installed.err);
    const schtasks = 'C:\\Windows\\System32\\schtasks.exe';
    assert.deepEqual(scheduler.take(), [
      `${schtasks} /End /TN Sibyl Runner`,
      `${schtasks} /Create /TN Sibyl Runner /XML ${xmlPath} /F`,
      `${schtasks} /Run /TN Sibyl Runner`,
    ]);
    assert.match(scheduler.task ?? '', /<UserId>DESKTOP-1\\dana<\/UserId>/);
    const status = await service(w, scheduler, ['status']);
    assert.equal(status.code, 0);
    assert.match(status.out, /^State +running — Running$/m);
    assert.equal((await service(w, scheduler, ['stop'])).code, 0);
    const stopped = await service(w, scheduler, ['status']);
    assert.equal(stopped.code, 1);
    assert.match(stopped.out, /^State +stopped — Ready$/m);
    assert.equal((await service(w, scheduler, ['start'])).code, 0);
    scheduler.take();
    assert.equal((await service(w, scheduler, ['uninstall'])).code, 0);
    assert.deepEqual(scheduler.take().slice(1), [`${schtasks} /End /TN Sibyl Runner`, `${schtasks} /Delete /TN Sibyl Runner /F`]);
    assert.equal(scheduler.task, undefined);
    assert.equal(existsSync(xmlPath), false);
  });
});

describe('usage', () => {
  test('an action is required, --dry-run does not go with status, other systems are named', async () => {
    const w = world('linux');
    const systemd = new FakeSystemd('/nonexistent');
    await assert.rejects(service(w, systemd, []), rejectsWith('usage', /which action\? install, uninstall, start, stop, status/));
    await assert.rejects(service(w, systemd, ['restart']), rejectsWith('usage', /unknown action "restart"/));
    await assert.rejects(service(w, systemd, ['status', '--dry-run']), rejectsWith('usage'));
    const bsd = { ...world('freebsd'), host: { ...w.host, platform: 'freebsd' as const } };
    await assert.rejects(service(bsd, systemd, ['install']), rejectsWith('service_unsupported', /not on freebsd/));
  });
});
