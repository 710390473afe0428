/**
 * Passwords written into URLs (`https://user:secret@host`): shown and logged without them. A
 * URL's user-info is still used where the URL is used (the connection); only what people see and
 * what goes to logs is redacted. Pure string functions, so every layer can use them.
 */

/**
 * `scheme://` then the authority up to its last `@` (a raw `@` in a password is still user-info,
 * as the WHATWG parser reads it). The authority ends at `/ ? #`, whitespace or a quote.
 */
const USERINFO = /([a-z][a-z0-9+.-]*:\/\/)([^/?#\s'"<>`]*)@/gi;

/** A user-info already redacted by `redactUrl` (`user:***`): left as it is, so redacting twice changes nothing. */
const REDACTED_USERINFO = /^[^:]*:\*\*\*$/;

/** `https://user:secret@host/x` → `https://user:***@host/x`; `https://token@host` → `https://***@host`. */
export function redactUrl(url: string): string {
  return url.replace(new RegExp(`^${USERINFO.source}`, 'i'), (_m, scheme: string, userinfo: string) => {
    const colon = userinfo.indexOf(':');
    if (colon === -1) return `${scheme}${userinfo ? '***' : ''}@`;
    return `${scheme}${userinfo.slice(0, colon)}:***@`;
  });
}

/**
 * Every `scheme://userinfo@` in free text (git's errors, a link's reason, a log line) →
 * `scheme://***@`; one already redacted by `redactUrl` (`user:***@`) is kept. The user name goes
 * too: `https://<token>:x-oauth-basic@github.com` puts the secret there.
 */
export function redactUrlsIn(text: string): string {
  if (!text.includes('@')) return text;
  return text.replace(USERINFO, (m, scheme: string, userinfo: string) => (REDACTED_USERINFO.test(userinfo) ? m : `${scheme}***@`));
}
