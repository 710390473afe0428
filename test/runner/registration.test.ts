import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { SibylApi } from '../../main/runner/api/sibylApi.ts';
import { defaultConfig } from '../../main/runner/config/schema.ts';
import { logger } from '../../main/runner/logger.ts';
import { syncRegistration } from '../../main/runner/registration.ts';
import { FakeCore } from '../helpers/fakeCore.ts';
import { staticAuth } from '../helpers/runnerHarness.ts';

test('local max agents and capabilities are pushed to the server record (R8), once', async () => {
  const core = await FakeCore.start({ heartbeatIntervalMs: 0 });
  after(() => core.stop());
  const { id, accessToken } = core.addRunner({ max_concurrent_agents: 3, capabilities: ['node'] });
  const config = { ...defaultConfig('/home/x'), server_url: core.url, runner_id: id, max_concurrent_agents: 5, capabilities: ['gpu'] };
  const api = new SibylApi(core.url);
  const log = logger('test');
  assert.equal(await syncRegistration(api, staticAuth(accessToken), config, log), 'updated');
  const patch = core.requests.find((r) => r.method === 'PATCH');
  assert.deepEqual(patch?.body, { max_concurrent_agents: 5, capabilities: ['node', 'gpu'] });
  assert.equal(core.runner(id)?.max_concurrent_agents, 5);
  assert.equal(await syncRegistration(api, staticAuth(accessToken), config, log), 'unchanged');
  assert.equal(await syncRegistration(api, staticAuth(accessToken), { ...config, sandbox_mode: true }, log), 'skipped');
});
