import type { ElectronSurface, MenuItemTemplate } from './electronSurface.ts';

/**
 * The application menu: none of Electron's default (its View menu has Reload, Force Reload and
 * Toggle Developer Tools). On macOS the app menu (About, Hide, Quit) and the Edit menu stay: the
 * menu bar is hidden for a menu-bar app, but ⌘C/⌘V/⌘A in the window work only through the Edit
 * roles. Windows and Linux get no menu at all; their copy and paste keys work without one.
 */
export function applicationMenuTemplate(platform: NodeJS.Platform): MenuItemTemplate[] | null {
  return platform === 'darwin' ? [{ role: 'appMenu' }, { role: 'editMenu' }] : null;
}

/** Sets {@link applicationMenuTemplate} as the app's menu. Call once the app is ready. */
export function applyApplicationMenu(e: Pick<ElectronSurface, 'Menu'>, platform: NodeJS.Platform): void {
  const template = applicationMenuTemplate(platform);
  e.Menu.setApplicationMenu(template ? e.Menu.buildFromTemplate(template) : null);
}
