import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after } from 'node:test';
import type { AppServiceOptions, DesktopPorts } from '../../main/app/appContext.ts';
import { createAppService, type AppService } from '../../main/app/appService.ts';
import { nodeCoreLauncher, type CoreLauncher } from '../../main/app/coreLauncher.ts';
import { BIN } from './runnerHarness.ts';

/**
 * The window's application layer for a test, closed when the test file ends. Electron's parts
 * are the only stand-ins: `ports` record what would have been opened and keep the login item.
 * The runner core is real: `sibyl-runner run` forked as a plain Node child (build the CLI bundle
 * first: `node scripts/build-cli.mjs`), as the app runs it in a utilityProcess.
 */

/** The real core process, a Node child running bin/sibyl-runner.js on this Node. */
export function testCoreLauncher(): CoreLauncher {
  return nodeCoreLauncher({ entry: BIN });
}

/** Ports that open nothing; `opened` lists what the app asked to open (paths and URLs). */
export function testPorts(over: Partial<DesktopPorts> = {}): TestPorts {
  const p: TestPorts = {
    opened: [],
    login: false,
    openPath: async (x) => void p.opened.push(x),
    openExternal: async (x) => void p.opened.push(x),
    pickFolder: async () => '/tmp',
    loginItem: { get: async () => p.login, set: async (v) => void (p.login = v) },
    coreLauncher: testCoreLauncher(),
    ...over,
  };
  return p;
}

export type TestPorts = DesktopPorts & { opened: string[]; login: boolean };

/** Homes made by appHome(), removed only after their app service (and its core process) is closed. */
const homes = new Set<string>();
const withService = new Set<string>();

/**
 * A temp home for an app service: removed after the test file, but only once the service made on
 * it is closed. (A tempDir() made before the service is removed first, while the core process may
 * still be writing its logs and state there.)
 */
export function appHome(prefix = 'sibyl-app-'): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  homes.add(dir);
  after(() => {
    // A home with a service is removed by that service's closing hook instead.
    if (homes.has(dir) && !withService.has(dir)) rmSync(dir, { recursive: true, force: true });
  });
  return dir;
}

/** An app service on `home` (config `<home>/cfg/runner.yaml` unless given), environment PATH + HOME + `env`. */
export async function testAppService(
  home: string,
  opts: Partial<Omit<AppServiceOptions, 'home' | 'env'>> & { env?: Record<string, string> } = {},
): Promise<AppService> {
  const service = await createAppService({
    ...opts,
    home,
    configPath: opts.configPath ?? join(home, 'cfg', 'runner.yaml'),
    env: { PATH: process.env.PATH, HOME: home, ...opts.env },
    ports: opts.ports ?? testPorts(),
  });
  withService.add(home);
  after(async () => {
    await service.close();
    if (homes.delete(home)) rmSync(home, { recursive: true, force: true, maxRetries: 3 });
  });
  return service;
}
