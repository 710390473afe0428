import { join } from 'node:path';
import { after } from 'node:test';
import type { AppServiceOptions, DesktopPorts } from '../../main/app/appContext.ts';
import { createAppService, type AppService } from '../../main/app/appService.ts';

/**
 * The window's application layer for a test, closed when the test file ends. Electron's parts
 * are the only stand-ins: `ports` record what would have been opened and keep the login item.
 */

/** Ports that open nothing; `opened` lists what the app asked to open (paths and URLs). */
export function testPorts(over: Partial<DesktopPorts> = {}): TestPorts {
  const p: TestPorts = {
    opened: [],
    login: false,
    openPath: async (x) => void p.opened.push(x),
    openExternal: async (x) => void p.opened.push(x),
    pickFolder: async () => '/tmp',
    loginItem: { get: async () => p.login, set: async (v) => void (p.login = v) },
    ...over,
  };
  return p;
}

export type TestPorts = DesktopPorts & { opened: string[]; login: boolean };

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
  after(() => service.close());
  return service;
}
