// The real `sibyl-runner service` process on Linux, with stand-ins for systemctl and loginctl first on
// its PATH (shell scripts that log their arguments), so the command's own spawning, output and exit
// codes are what is tested, and this machine's service manager is never touched.
import assert from 'node:assert/strict';
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { BIN, cliRun, writeYaml } from '../helpers/runnerHarness.ts';
import { tempDir } from '../helpers/tmp.ts';

const linuxOnly = process.platform === 'linux' ? {} : { skip: 'systemd user units are the Linux service' };

/** A `systemctl` that logs each call and reports the unit running once `restart` was called. */
function fakeSystemd(dir: string): { bin: string; log: string } {
  const log = join(dir, 'calls.log');
  const state = join(dir, 'active');
  writeFileSync(
    join(dir, 'systemctl'),
    `#!/bin/sh
echo "systemctl $*" >> '${log}'
case "$2" in
  restart|start) touch '${state}' ;;
  stop) rm -f '${state}' ;;
  show) if [ -e '${state}' ]; then printf 'ActiveState=active\\nSubState=running\\nUnitFileState=enabled\\nMainPID=31337\\n'
        else printf 'ActiveState=inactive\\nSubState=dead\\nUnitFileState=disabled\\nMainPID=0\\n'; fi ;;
esac
`,
  );
  writeFileSync(join(dir, 'loginctl'), `#!/bin/sh\necho "loginctl $*" >> '${log}'\necho no\n`);
  chmodSync(join(dir, 'systemctl'), 0o755);
  chmodSync(join(dir, 'loginctl'), 0o755);
  return { bin: dir, log };
}

test('install, status and uninstall through the real CLI', linuxOnly, async () => {
  const home = tempDir('sibyl-service-cli-');
  const fake = fakeSystemd(tempDir('sibyl-fake-systemd-'));
  const config = join(home, 'my config', 'runner.yaml');
  mkdirSync(join(home, 'my config'));
  writeYaml(config, { server_url: 'https://sibyl.example.com', runner_id: 'runner-1', drain_timeout: 5 });
  const env = { HOME: home, PATH: `${fake.bin}:${process.env.PATH ?? ''}`, USER: 'dana' };

  const install = await cliRun(['service', 'install', '--config', config], env);
  assert.equal(install.code, 0, install.stderr);
  const unit = readFileSync(join(home, '.config', 'systemd', 'user', 'sibyl-runner.service'), 'utf8');
  // The Node this CLI ran on and this checkout's launcher, the configuration made absolute and quoted.
  assert.match(unit, new RegExp(`^ExecStart=${process.execPath} ${BIN} run --config "${config}"$`, 'm'));
  assert.match(unit, /^TimeoutStopSec=15$/m);
  assert.match(install.stdout, /loginctl enable-linger dana/);
  assert.deepEqual(readFileSync(fake.log, 'utf8').trim().split('\n'), [
    'systemctl --user daemon-reload',
    'systemctl --user enable sibyl-runner.service',
    'systemctl --user restart sibyl-runner.service',
    'loginctl show-user dana --property=Linger --value',
  ]);

  const status = await cliRun(['service', 'status', '--config', config], env);
  assert.equal(status.code, 0, status.stdout + status.stderr);
  assert.match(status.stdout, /^State +running \(pid 31337\) — active \(running\)$/m);

  const uninstall = await cliRun(['service', 'uninstall'], env);
  assert.equal(uninstall.code, 0, uninstall.stderr);
  assert.equal(existsSync(join(home, '.config', 'systemd', 'user', 'sibyl-runner.service')), false);
  const after = await cliRun(['service', 'status', '--config', config], env);
  assert.equal(after.code, 1);
  assert.match(after.stdout, /^Installed +no$/m);
});

test('a failing systemctl is reported with its own words, exit 1', linuxOnly, async () => {
  const home = tempDir('sibyl-service-cli-');
  const bin = tempDir('sibyl-fake-systemd-');
  writeFileSync(join(bin, 'systemctl'), '#!/bin/sh\necho "Failed to reload daemon: Access denied" >&2\nexit 1\n');
  chmodSync(join(bin, 'systemctl'), 0o755);
  const config = join(home, 'runner.yaml');
  writeYaml(config, { server_url: 'https://sibyl.example.com', runner_id: 'runner-1' });
  const out = await cliRun(['service', 'install', '--config', config], { HOME: home, PATH: `${bin}:${process.env.PATH ?? ''}` });
  assert.equal(out.code, 1);
  assert.equal(
    out.stderr.trim(),
    'sibyl-runner service: systemctl --user daemon-reload failed (exit 1): Failed to reload daemon: Access denied',
  );
});

test('service and completion have help; usage errors exit 2', async () => {
  const help = await cliRun(['service', '--help'], {});
  assert.equal(help.code, 0);
  assert.match(help.stdout, /sibyl-runner service install \[--config PATH\] \[--dry-run\]/);
  const bad = await cliRun(['service', 'reinstall'], {});
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /unknown action "reinstall"/);
});
