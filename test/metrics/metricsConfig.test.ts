import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import { resolveConfig, type ConfigFlags, type Env } from '../../main/runner/config/loadConfig.ts';
import type { ConfigFile } from '../../main/runner/config/schema.ts';
import { ConfigError } from '../../main/runner/errors.ts';
import { formatListenAddress, parseListenAddress } from '../../main/runner/metrics/listenAddress.ts';

const HOME = '/home/ada';
const FILE = join(HOME, '.config', 'sibyl', 'runner.yaml');

function resolve(file: ConfigFile, env: Env = {}, flags: ConfigFlags = {}) {
  return resolveConfig(file, FILE, env, flags, HOME);
}

function refusal(fn: () => unknown): ConfigError {
  try {
    fn();
  } catch (err) {
    assert.ok(err instanceof ConfigError, String(err));
    return err;
  }
  assert.fail('expected a ConfigError');
}

test('listen addresses: HOST:PORT with the host required, IPv6 in brackets, loopback told apart', () => {
  assert.deepEqual(parseListenAddress('127.0.0.1:9464'), { host: '127.0.0.1', port: 9464, loopback: true });
  assert.deepEqual(parseListenAddress(' localhost:0 '), { host: 'localhost', port: 0, loopback: true });
  assert.deepEqual(parseListenAddress('127.0.0.2:9464'), { host: '127.0.0.2', port: 9464, loopback: true });
  assert.deepEqual(parseListenAddress('[::1]:9464'), { host: '::1', port: 9464, loopback: true });
  assert.deepEqual(parseListenAddress('0.0.0.0:9464'), { host: '0.0.0.0', port: 9464, loopback: false });
  assert.deepEqual(parseListenAddress('[::]:9464'), { host: '::', port: 9464, loopback: false });
  assert.deepEqual(parseListenAddress('10.1.2.3:9464'), { host: '10.1.2.3', port: 9464, loopback: false });
  assert.deepEqual(parseListenAddress('runner-0.metrics:9464'), { host: 'runner-0.metrics', port: 9464, loopback: false });
  for (const bad of [
    '9464',
    ':9464',
    '127.0.0.1',
    '127.0.0.1:',
    '::1:9464',
    '[localhost]:9464',
    'a b:1',
    '127.0.0.1:99999',
    'http://127.0.0.1:9464',
  ])
    assert.equal(typeof parseListenAddress(bad), 'string', `${bad} is refused`);
  assert.match(parseListenAddress('127.0.0.1:70000') as string, /out of range/);
  assert.equal(formatListenAddress({ host: '::1', port: 1 }), '[::1]:1');
  assert.equal(formatListenAddress({ host: '127.0.0.1', port: 1 }), '127.0.0.1:1');
});

test('metrics_listen: off by default; flag over environment over runner.yaml; an empty variable turns it off', () => {
  assert.equal(resolve({}).metrics_listen, '');
  assert.equal(resolve({}).metrics_allow_remote, false);
  assert.equal(resolve({ metrics_listen: '127.0.0.1:1' }).metrics_listen, '127.0.0.1:1');
  assert.equal(resolve({ metrics_listen: '127.0.0.1:1' }, { SIBYL_METRICS_LISTEN: '127.0.0.1:2' }).metrics_listen, '127.0.0.1:2');
  assert.equal(
    resolve({ metrics_listen: '127.0.0.1:1' }, { SIBYL_METRICS_LISTEN: '127.0.0.1:2' }, { metricsListen: '[::1]:3' }).metrics_listen,
    '[::1]:3',
  );
  assert.equal(resolve({ metrics_listen: '127.0.0.1:1' }, { SIBYL_METRICS_LISTEN: '' }).metrics_listen, '');
});

test('a non-loopback metrics_listen needs metrics_allow_remote; the error names where the address came from and the opt-in', () => {
  const file = refusal(() => resolve({ metrics_listen: '0.0.0.0:9464' }));
  assert.match(file.message, /^key "metrics_listen": 0\.0\.0\.0:9464 can be reached from other machines/);
  assert.match(file.message, /metrics_allow_remote: true/);
  assert.deepEqual(file.context, { file: FILE, key: 'metrics_listen' });
  assert.equal(file.exitCode, 2);
  assert.equal(file.remedy, 'fixConfig');
  assert.match(refusal(() => resolve({}, { SIBYL_METRICS_LISTEN: '[::]:9464' })).message, /^environment variable SIBYL_METRICS_LISTEN: /);
  assert.match(refusal(() => resolve({}, {}, { metricsListen: '10.0.0.5:9464' })).message, /^--metrics-listen: /);
  // The opt-in from the file, the environment, either.
  assert.equal(resolve({ metrics_listen: '0.0.0.0:9464', metrics_allow_remote: true }).metrics_listen, '0.0.0.0:9464');
  assert.equal(resolve({ metrics_listen: '0.0.0.0:9464' }, { SIBYL_METRICS_ALLOW_REMOTE: 'yes' }).metrics_allow_remote, true);
  // …and an explicit "no" in the environment wins over the file's yes.
  refusal(() => resolve({ metrics_listen: '0.0.0.0:9464', metrics_allow_remote: true }, { SIBYL_METRICS_ALLOW_REMOTE: 'false' }));
});

test('a malformed address or opt-in is an error naming it, never silently off', () => {
  assert.match(refusal(() => resolve({ metrics_listen: 'localhost' })).message, /^key "metrics_listen": expected HOST:PORT/);
  const typo = refusal(() => resolve({ metrics_listen: '0.0.0.0:1' }, { SIBYL_METRICS_ALLOW_REMOTE: 'ture' }));
  assert.equal(typo.message, 'environment variable SIBYL_METRICS_ALLOW_REMOTE="ture": expected true or false');
  assert.deepEqual(typo.context, { key: 'metrics_allow_remote' });
});
