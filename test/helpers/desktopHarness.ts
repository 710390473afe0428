import { join } from 'node:path';
import { after } from 'node:test';
import { startDesktop, type Desktop, type DesktopOptions } from '../../main/desktop/desktopApp.ts';
import type { ElectronSurface } from '../../main/desktop/electronSurface.ts';
import { BIN } from './runnerHarness.ts';

/**
 * startDesktop's options for a test: Linux, no arguments, an installed app's paths that are never
 * read (the fake Electron loads nothing), logs under `<home>/logs`; `over` replaces any of them.
 */
export function desktopOptions(home: string, configPath: string, over: Partial<DesktopOptions> = {}): DesktopOptions {
  return {
    home,
    configPath,
    env: { HOME: home, PATH: process.env.PATH },
    platform: 'linux',
    argv: [],
    execPath: '/opt/Sibyl Runner/sibyl-runner',
    rendererDir: join(home, 'renderer'),
    preloadPath: '/app/preload.cjs',
    trayDir: '/app/tray',
    logDir: join(home, 'logs'),
    // The fake utilityProcess forks it as a real Node child: the desktop's core is real too.
    coreEntry: BIN,
    quitDrainMs: 3000,
    ...over,
  };
}

/** startDesktop against the fake Electron `e`; it must give a desktop (not exit), closed when the test file ends. */
export async function startTestDesktop(e: ElectronSurface, o: DesktopOptions): Promise<Desktop> {
  const d = await startDesktop(e, o);
  if (!d) throw new Error('startDesktop did not give a desktop (it quit)');
  after(() => d.service.close());
  return d;
}
