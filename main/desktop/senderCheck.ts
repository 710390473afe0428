/** The renderer is served from this origin (a custom protocol registered as standard and secure). */
export const APP_SCHEME = 'app';
export const APP_HOST = 'sibyl';
export const APP_URL = `${APP_SCHEME}://${APP_HOST}/index.html`;

export interface SenderInfo {
  /** id of the sending webContents */
  webContentsId: number;
  /** URL of the sending frame ('' when unknown) */
  frameUrl: string;
  isMainFrame: boolean;
}

/**
 * IPC is accepted only from a window we created, from its main frame, showing our own app URL.
 * Scheme and host are compared, not `origin`: a custom scheme's origin reads as "null".
 */
export function isTrustedSender(sender: SenderInfo, ourWebContents: ReadonlySet<number>): boolean {
  if (!ourWebContents.has(sender.webContentsId) || !sender.isMainFrame) return false;
  let url: URL;
  try {
    url = new URL(sender.frameUrl);
  } catch {
    return false;
  }
  return url.protocol === `${APP_SCHEME}:` && url.host === APP_HOST;
}

/** Only http(s) leaves the app, and only through the OS browser. */
export function isExternalHttpUrl(raw: string): boolean {
  try {
    const u = new URL(raw);
    return u.protocol === 'https:' || u.protocol === 'http:';
  } catch {
    return false;
  }
}

/** The one web permission our page gets: writing to the clipboard (the wizard's "Copy code"). */
export const ALLOWED_PERMISSION = 'clipboard-sanitized-write';

/**
 * Permission policy for both of the session's handlers (request and check): allow exactly
 * clipboard writes asked by a main frame showing our own origin; deny everything else (camera,
 * notifications, clipboard reads, …). `url` is the requesting URL or origin ('' when unknown).
 */
export function isPermissionAllowed(permission: string, url: string, isMainFrame: boolean): boolean {
  if (permission !== ALLOWED_PERMISSION || !isMainFrame) return false;
  try {
    const u = new URL(url);
    return u.protocol === `${APP_SCHEME}:` && u.host === APP_HOST;
  } catch {
    return false;
  }
}
