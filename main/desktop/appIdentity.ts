/**
 * The app's identity towards the OS. Windows attributes notifications, taskbar entries and the
 * Start menu shortcut by AppUserModelID; electron-builder's NSIS installer gives the shortcut the
 * `appId` of electron-builder.yml as its AUMID, so the running app must claim the same one, or its
 * notifications show under another name or not at all.
 */
export const APP_ID = 'dev.sibyl.runner';

/**
 * Claims `APP_ID` as the process's AppUserModelID on Windows (a no-op elsewhere, where Electron has
 * no such call). Call it first, before any window, tray or notification exists.
 */
export function claimAppUserModelId(app: { setAppUserModelId?(id: string): void }, platform: NodeJS.Platform): void {
  if (platform === 'win32') app.setAppUserModelId?.(APP_ID);
}
