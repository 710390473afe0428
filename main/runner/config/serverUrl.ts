import { BlockList, isIP } from 'node:net';
import { RunnerError } from '../errors.ts';
import { logger } from '../logger.ts';

const log = logger('security');

/** The configuration key that lets plain HTTP reach a host other than this machine, and its environment variable. */
export const ALLOW_INSECURE_HTTP_KEY = 'allow_insecure_http';
export const ALLOW_INSECURE_HTTP_ENV = 'SIBYL_ALLOW_INSECURE_HTTP';

const LOOPBACK = new BlockList();
LOOPBACK.addSubnet('127.0.0.0', 8, 'ipv4');
LOOPBACK.addAddress('::1', 'ipv6');

/**
 * True for a host whose traffic never leaves this machine: `localhost`, 127.0.0.0/8, `::1` (and
 * their IPv4-mapped forms). `hostname` is `URL.hostname`, so IPv4 is already normalised (`127.1`,
 * `0x7f.1`) and IPv6 bracketed. `*.localhost` is not: Node asks the system resolver, which may send
 * such a name to DNS, and only the exact name `localhost` is reliably /etc/hosts' loopback.
 */
export function isLoopbackHost(hostname: string): boolean {
  const host = hostname.toLowerCase().replace(/^\[(.*)\]$/, '$1');
  if (host === 'localhost') return true;
  const family = isIP(host);
  return family !== 0 && LOOPBACK.check(host, family === 4 ? 'ipv4' : 'ipv6');
}

/**
 * The unencrypted part of a server address: `{ origin, host }` when `url` is `http://` or `ws://`
 * to a host that is not this machine (the bearer token would travel in clear), else undefined (TLS,
 * loopback, or not a URL at all: the address checks in sibylApi.ts report those).
 */
export function insecureTransport(url: string): { origin: string; host: string } | undefined {
  let parsed: URL;
  try {
    parsed = new URL(url.trim());
  } catch {
    return undefined;
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'ws:') return undefined;
  if (isLoopbackHost(parsed.hostname)) return undefined;
  // Never the userinfo: a password in the URL must not reach a message or a log line.
  return { origin: `${parsed.protocol}//${parsed.host}`, host: parsed.host };
}

/** Where the address came from, for the message: a flag (`--server`), an environment variable, or a key of `file`. */
export interface UrlSource {
  /** e.g. `--server`, `environment variable SIBYL_SERVER_URL`, `key "server_url"`; the message starts with it */
  label?: string;
  /** the runner.yaml where `allow_insecure_http` would go; the CLI says "edit <file>" */
  file?: string;
}

/**
 * A server address that would send the runner's token unencrypted to another machine, while
 * `allow_insecure_http` is off. Code `insecure_http`, remedy `fixConfig` (use https://, or allow it
 * in the configuration), exit 2 like every configuration error; context: `key`, `host`, `file`.
 */
export class InsecureHttpError extends RunnerError {
  readonly host: string;
  constructor(origin: string, host: string, source: UrlSource = {}) {
    const what =
      `${origin} would send the runner's token unencrypted (plain HTTP) to ${host}, which is not this machine; ` +
      `use an https:// address, or, only on a network you trust, set ${ALLOW_INSECURE_HTTP_KEY}: true in runner.yaml ` +
      `(or ${ALLOW_INSECURE_HTTP_ENV}=true)`;
    super('insecure_http', source.label ? `${source.label}: ${what}` : what, {
      exitCode: 2,
      remedy: 'fixConfig',
      context: { key: 'server_url', host, ...(source.file !== undefined ? { file: source.file } : {}) },
    });
    this.host = host;
  }
}

/** The error for `url`, or undefined when it may carry the token: TLS, loopback, or `allowInsecureHttp`. Pure: no warning. */
export function insecureHttpError(url: string, allowInsecureHttp: boolean, source: UrlSource = {}): InsecureHttpError | undefined {
  const insecure = insecureTransport(url);
  if (!insecure || allowInsecureHttp) return undefined;
  return new InsecureHttpError(insecure.origin, insecure.host, source);
}

/** Hosts already warned about in this process: the warning is said once, not on every client or dial. */
const warned = new Set<string>();

/**
 * The one check every use of a server address goes through before a token is sent (the REST
 * client and the WebSocket link): throws InsecureHttpError for plain HTTP/WS to another machine
 * unless `allowInsecureHttp`; when allowed, logs a warning once per host and process (the logger
 * prints it on the terminal of `run`, `register` and `login`, and writes it to runner.log).
 */
export function requireSecureTransport(url: string, opts: { allowInsecureHttp: boolean; source?: UrlSource }): void {
  const insecure = insecureTransport(url);
  if (!insecure) return;
  if (!opts.allowInsecureHttp) throw new InsecureHttpError(insecure.origin, insecure.host, opts.source);
  if (warned.has(insecure.host)) return;
  warned.add(insecure.host);
  log.warn(
    `plain HTTP to ${insecure.host}: the runner's token travels unencrypted and anyone on the network path can read and reuse it ` +
      `(${ALLOW_INSECURE_HTTP_KEY} is on); use https:// unless this network is trusted`,
    { host: insecure.host },
  );
}
