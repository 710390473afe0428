import assert from 'node:assert/strict';
import { test } from 'node:test';
import { DoctorReport } from '../../main/runner/doctor/check.ts';
import { cli, cliRun, registeredRunner } from '../helpers/runnerHarness.ts';
import { checkOf, fakeBin } from './doctorCli.ts';

test('with the daemon running: the real `sibyl-runner doctor` finds its lock held by that pid, the server sees it online, exit 0', async () => {
  const { core, id, config, env } = await registeredRunner();
  const { PATH } = fakeBin();
  const daemon = cli(['run', '--config', config], { ...env, PATH });
  await core.until(() => core.connected(id), 15_000, 'the daemon to connect');

  const json = await cliRun(['doctor', '--json', '--config', config], { ...env, PATH });
  assert.equal(json.code, 0, json.stdout + json.stderr);
  const report = DoctorReport.parse(JSON.parse(json.stdout));
  const lock = checkOf(report, 'stateLock');
  assert.equal(lock.status, 'ok');
  assert.equal(lock.detail.held, true);
  assert.equal(lock.detail.pid, daemon.pid);
  assert.equal(lock.summary, `The daemon is running (pid ${daemon.pid}, since ${String(lock.detail.since)})`);
  const registration = checkOf(report, 'registration');
  assert.equal(registration.status, 'ok');
  assert.match(registration.summary, /the server shows it online, last heartbeat \d+ seconds? ago$/);

  const human = await cliRun(['doctor', '--config', config], { ...env, PATH });
  assert.equal(human.code, 0);
  assert.match(human.stdout, new RegExp(`^✓ daemon +The daemon is running \\(pid ${daemon.pid}, since `, 'm'));

  // A failing check is exit 1 from the real process too.
  core.removeRunner(id);
  const failing = await cliRun(['doctor', '--json', '--config', config], { ...env, PATH });
  assert.equal(failing.code, 1);
  assert.equal(checkOf(DoctorReport.parse(JSON.parse(failing.stdout)), 'registration').status, 'fail');

  daemon.kill('SIGTERM');
  await new Promise((resolve) => daemon.once('close', resolve));
});
