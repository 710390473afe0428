/**
 * The words for a failed exchange with a server, once, for every face (style.md 13): the REST
 * client's errors (which the CLI prints and the window shows), `doctor`'s server check and the
 * runner link's reason all say "Nothing is answering at 127.0.0.1:45999 — is Sibyl running?"
 * rather than `(ECONNREFUSED)`. Plain functions of a code and a URL; no command or button is named
 * (each face adds its own remedy: errors.ts).
 */

/** What happened, as a sentence without a final full stop, and what to look at, lower case. */
export interface NetworkWords {
  summary: string;
  fix: string;
}

/** How a face names the address to check; doctor says "server_url", the others "the server address". */
export interface WordingOptions {
  /** replaces "check the server address" in `fix` */
  checkAddress?: string;
}

const CHECK_ADDRESS = 'check the server address (the site root of Sibyl, e.g. https://sibyl.example.com)';

const TLS_CODE = /^(CERT_|ERR_TLS_|ERR_SSL_|DEPTH_ZERO_SELF_SIGNED_CERT$|SELF_SIGNED_CERT_IN_CHAIN$|UNABLE_TO_|HOSTNAME_MISMATCH$|EPROTO$)/;

/** Whether Node's error code is a TLS failure (certificate, handshake, protocol). */
export function isTlsCode(code: string | undefined): boolean {
  return code !== undefined && TLS_CODE.test(code);
}

/**
 * The first error `code` in a cause chain (Node's Error { code }, sometimes an AggregateError of
 * one per address); undefined when there is none. Node's HTTP client reports a TLS record error
 * found while writing the request as EPROTO with OpenSSL's reason in the message ("…:SSL
 * routines:…:wrong version number:…"); that is named as Node names it on a read,
 * ERR_SSL_WRONG_VERSION_NUMBER, so both are worded alike.
 */
export function errorCode(err: unknown): string | undefined {
  const seen = new Set<unknown>();
  const queue: unknown[] = [err];
  while (queue.length) {
    const e = queue.shift();
    if (!(e instanceof Error) || seen.has(e)) continue;
    seen.add(e);
    const code = (e as { code?: unknown }).code;
    if (code === 'EPROTO') {
      const reason = /:SSL routines:[^:]*:([a-z0-9 ]+):/.exec(e.message)?.[1];
      return reason ? `ERR_SSL_${reason.toUpperCase().replaceAll(' ', '_')}` : code;
    }
    if (typeof code === 'string') return code;
    queue.push(e.cause);
    if (e instanceof AggregateError) queue.push(...(e.errors as unknown[]));
  }
  return undefined;
}

/** `host:port` of a URL, the scheme's default port spelt out: people check it against what they started. */
export function hostPort(url: URL): string {
  const secure = url.protocol === 'https:' || url.protocol === 'wss:';
  return `${url.hostname}:${url.port || (secure ? '443' : '80')}`;
}

/**
 * A connection that failed before any answer, in words for people. `code` is Node's error code
 * (ECONNREFUSED…, from `errorCode`), undefined when there was none; `url` is where
 * the request went (only its host and port are named, so no path, query or password is shown).
 */
export function unreachableWords(code: string | undefined, url: URL, opts: WordingOptions = {}): NetworkWords {
  const at = hostPort(url);
  const checkAddress = opts.checkAddress ?? CHECK_ADDRESS;
  switch (code) {
    case 'ECONNREFUSED':
      return { summary: `Nothing is answering at ${at} — is Sibyl running?`, fix: `start the Sibyl server, or ${checkAddress}` };
    case 'ENOTFOUND':
      return { summary: `Can't find ${url.hostname}: no such host`, fix: `${checkAddress}; is the host name spelt right?` };
    case 'EAI_AGAIN':
      return {
        summary: `Can't find ${url.hostname} right now: the name lookup failed`,
        fix: 'check the network and DNS of this machine, then try again',
      };
    case 'ETIMEDOUT':
      return { summary: `No connection to ${at}: it timed out`, fix: `a firewall may drop it, or the address is wrong; ${checkAddress}` };
    case 'EHOSTUNREACH':
    case 'ENETUNREACH':
      return { summary: `No route to ${at}`, fix: 'check the network of this machine (VPN, Wi-Fi, proxy)' };
    case 'ECONNRESET':
      return {
        summary: `${at} closed the connection without answering`,
        fix: `is it http:// where the server speaks https:// (or the other way round)? ${checkAddress}`,
      };
    case 'ERR_SSL_WRONG_VERSION_NUMBER':
      return { summary: `${at} does not speak HTTPS`, fix: 'use http:// for a server without TLS, or the HTTPS port' };
    default:
      if (isTlsCode(code)) {
        return {
          summary: `TLS problem talking to ${at} (${code})`,
          fix: "check the server's certificate; for a private CA, trust it with NODE_EXTRA_CA_CERTS=/path/to/ca.pem",
        };
      }
      return { summary: `Can't reach ${at}${code ? ` (${code})` : ''}`, fix: `check the network, and ${checkAddress}` };
  }
}

/** A request that got no answer in time. `seconds` is the deadline it was given. */
export function timeoutWords(url: URL, seconds: number, opts: WordingOptions = {}): NetworkWords {
  return {
    summary: `No answer from ${hostPort(url)} within ${seconds} s`,
    fix: `is the server overloaded, or is this the wrong address? ${opts.checkAddress ?? CHECK_ADDRESS}`,
  };
}

/**
 * Something answered, but not as Sibyl does: a web page, another API, a method it does not
 * implement (HTTP 501). `path` is the request's path (`/api/health`), `contentType` the answer's.
 */
export function notSibylWords(
  method: string,
  path: string,
  status: number,
  contentType: string | null,
  opts: WordingOptions = {},
): NetworkWords {
  const type = contentType?.split(';')[0]?.trim() || 'no content type';
  return {
    summary: `That address is not a Sibyl server: ${method} ${path} answered HTTP ${status} (${type})`,
    fix: opts.checkAddress ?? 'use the site root of Sibyl (without /api), e.g. https://sibyl.example.com',
  };
}
