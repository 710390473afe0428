import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { FileCredentialStore } from '../../main/runner/config/credentials.ts';
import { defaultConfig, type RunnerConfig } from '../../main/runner/config/schema.ts';
import { configureLogging } from '../../main/runner/logger.ts';
import { startRunner } from '../../main/runner/startRunner.ts';
import { FakeCore } from '../helpers/fakeCore.ts';
import { tempDir } from '../helpers/tmp.ts';

configureLogging({ quiet: true });

const require = createRequire(import.meta.url);
/** prom-client is CommonJS: once anything in this process imported it, its files are in the require cache. */
const promClientLoaded = (): boolean => Object.keys(require.cache).some((path) => path.includes('/node_modules/prom-client/'));

/** Own file, own process: nothing else here imports the metrics modules before the first check. */
test('a runner without metrics_listen never loads prom-client; one with it does', async () => {
  const core = await FakeCore.start({ heartbeatIntervalMs: 0 });
  after(() => core.stop());
  const start = async (extra: Partial<RunnerConfig>): Promise<void> => {
    const { id, accessToken } = core.addRunner({ name: 'lazy' });
    const home = tempDir();
    const configPath = join(home, 'runner.yaml');
    const runner = await startRunner(
      { ...defaultConfig(home, configPath), server_url: core.url, runner_id: id, access_token: accessToken, ...extra },
      { configPath, home, credentials: new FileCredentialStore(join(home, 'credentials.json')), env: {}, tuning: { controlSocket: false } },
    );
    await core.until(() => core.connected(id), 10_000, 'the runner connects');
    await runner.stop();
  };
  await start({});
  assert.equal(promClientLoaded(), false, 'a default runner started, connected and stopped without it');
  await start({ metrics_listen: '127.0.0.1:0' });
  assert.equal(promClientLoaded(), true, 'the check sees it once metrics are on');
});
