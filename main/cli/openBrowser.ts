import { spawn } from 'node:child_process';

/** Whether the browser was started, and if not, why in a few words. */
export type Opened = { ok: true } | { ok: false; why: string };

/**
 * The command that opens `url` in the person's browser: `$BROWSER` when set (the convention of
 * xdg-utils and Python's webbrowser; its first `:`-separated entry), else the OS's opener —
 * `open` on macOS, the URL protocol handler through rundll32 on Windows (no cmd.exe, so `&` in
 * a URL is not a command separator), `xdg-open` elsewhere.
 */
export function browserCommand(url: string, env: Record<string, string | undefined>, platform = process.platform): string[] {
  const browser = env.BROWSER?.split(':')[0]?.trim();
  if (browser) return [browser, url];
  if (platform === 'darwin') return ['open', url];
  if (platform === 'win32') return ['rundll32', 'url.dll,FileProtocolHandler', url];
  return ['xdg-open', url];
}

/**
 * Start the browser at `url` and leave it running on its own. Only http(s) addresses are opened:
 * the address comes from the server, and an opener would also run a `file:` or custom scheme.
 * Resolves once the opener started, or with why it could not; never rejects.
 */
export function openInBrowser(url: string, env: Record<string, string | undefined>): Promise<Opened> {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return Promise.resolve({ ok: false, why: 'the address is not a URL' });
  }
  if (parsed.protocol !== 'https:' && parsed.protocol !== 'http:') return Promise.resolve({ ok: false, why: 'not an http(s) address' });
  const [command, ...args] = browserCommand(parsed.href, env);
  return new Promise((resolve) => {
    const child = spawn(command!, args, { detached: true, stdio: 'ignore', env });
    child.once('spawn', () => {
      child.unref();
      resolve({ ok: true });
    });
    child.once('error', (err: NodeJS.ErrnoException) =>
      resolve({ ok: false, why: err.code === 'ENOENT' ? `${command} not found` : err.message }),
    );
  });
}
