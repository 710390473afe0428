// Electron entry (bundled to out/desktop/main.cjs). Everything here is wiring; see desktopApp.ts.
import { homedir } from 'node:os';
import { join } from 'node:path';
import * as electron from 'electron';
import Store from 'electron-store';
import { locateConfig } from '../runner/config/loadConfig.ts';
import { registerAppScheme, startDesktop } from './desktopApp.ts';
import type { ElectronSurface } from './electronSurface.ts';

const surface = electron as unknown as ElectronSurface;
registerAppScheme(surface);

const prefs = new Store<{ notifications: boolean; windowBounds?: { x: number; y: number; width: number; height: number } }>({
  name: 'desktop-preferences',
  defaults: { notifications: true },
});
const home = homedir();
const appRoot = electron.app.getAppPath();
const resources = electron.app.isPackaged ? process.resourcesPath : join(appRoot, 'build');

void startDesktop(surface, {
  home,
  configPath: locateConfig(undefined, process.env, home),
  env: process.env,
  platform: process.platform,
  argv: process.argv,
  execPath: process.execPath,
  rendererDir: join(appRoot, 'out', 'renderer'),
  preloadPath: join(appRoot, 'out', 'desktop', 'preload.cjs'),
  trayDir: join(resources, 'tray'),
  logDir: join(home, '.sibyl', 'logs'),
  // The same entry as the bundled CLI's launchers: the core is `sibyl-runner run` in a utilityProcess.
  coreEntry: electron.app.isPackaged
    ? join(process.resourcesPath, 'cli', 'bin', 'sibyl-runner.js')
    : join(appRoot, 'bin', 'sibyl-runner.js'),
  autostartArgs: electron.app.isPackaged ? [] : [appRoot],
  ...(electron.app.isPackaged ? { cliLauncher: join(process.resourcesPath, 'bin', 'sibyl-runner') } : {}),
  prefs: { get: (k) => prefs.get(k), set: (k, v) => prefs.set(k, v) },
  windowBounds: { get: () => prefs.get('windowBounds'), set: (b) => prefs.set('windowBounds', b) },
}).catch((err: unknown) => {
  // startDesktop keeps configuration, credential and start errors in the tray and the window; this
  // is only for a failure before either exists (Electron itself): say it in a dialog, not just on stderr.
  console.error('Sibyl Runner failed to start:', err);
  electron.dialog.showErrorBox('Sibyl Runner could not start', err instanceof Error ? err.message : String(err));
  electron.app.exit(1);
});
