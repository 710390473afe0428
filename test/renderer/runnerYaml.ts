import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import YAML from 'yaml';
import type { RendererFixture } from './fixture.ts';

/** The fixture's runner.yaml (its state folder's default is per configuration file). */
export function runnerYamlPath(fx: RendererFixture): string {
  return join(fx.home, '.config', 'sibyl-runner', 'runner.yaml');
}

/** Change runner.yaml's keys (the file a person would edit); `undefined` removes a key. */
export function editRunnerYaml(fx: RendererFixture, patch: Record<string, unknown>): void {
  const path = runnerYamlPath(fx);
  const file = YAML.parse(readFileSync(path, 'utf8')) as Record<string, unknown>;
  writeFileSync(path, YAML.stringify({ ...file, ...patch }));
}

/**
 * A long back-off (reconnect_interval 600 s), so that a runner whose link dropped waits for
 * "Retry now" rather than redialling by itself within a test's time.
 */
export async function slowRetries(fx: RendererFixture, runnerId: string): Promise<void> {
  editRunnerYaml(fx, { reconnect_interval: 600 });
  await fx.call('runner:restart', {});
  await fx.core.until(() => fx.core.connected(runnerId), 10_000, 'the runner to reconnect');
}
