import { isIP } from 'node:net';
import { isLoopbackHost } from '../config/serverUrl.ts';

/** Where the metrics and health endpoint listens: `host` as Node's `listen` takes it (IPv6 without brackets), `port` 0–65535 (0: any free port). */
export interface ListenAddress {
  host: string;
  port: number;
  /** true when only this machine can connect (`localhost`, 127.0.0.0/8, `::1`) */
  loopback: boolean;
}

/** The configuration key, its opt-in for other machines, and their environment variables (protocol §5.3 style). */
export const METRICS_LISTEN_KEY = 'metrics_listen';
export const METRICS_ALLOW_REMOTE_KEY = 'metrics_allow_remote';
export const METRICS_LISTEN_ENV = 'SIBYL_METRICS_LISTEN';
export const METRICS_ALLOW_REMOTE_ENV = 'SIBYL_METRICS_ALLOW_REMOTE';

const HOST_PORT = /^(?:\[([^\]]+)\]|([^:[\]\s]+)):(\d{1,5})$/;

/**
 * `HOST:PORT` (`127.0.0.1:9464`, `localhost:9464`, `[::1]:9464`, `0.0.0.0:9464`) as a ListenAddress,
 * or a sentence saying what is wrong with it (for a ConfigError naming the key). A host is required:
 * a bare port would mean every interface to Node, which must never happen by accident.
 */
export function parseListenAddress(text: string): ListenAddress | string {
  const m = HOST_PORT.exec(text.trim());
  if (!m) return `expected HOST:PORT such as 127.0.0.1:9464 or [::1]:9464, got ${JSON.stringify(text)}`;
  const host = (m[1] ?? m[2])!;
  if (m[1] !== undefined && isIP(host) !== 6) return `${JSON.stringify(m[1])} in brackets is not an IPv6 address`;
  const port = Number(m[3]);
  if (port > 65535) return `port ${port} is out of range (0–65535)`;
  return { host, port, loopback: isLoopbackHost(host) };
}

/** `host:port` for people and URLs (IPv6 bracketed). */
export function formatListenAddress(a: { host: string; port: number }): string {
  return `${isIP(a.host) === 6 ? `[${a.host}]` : a.host}:${a.port}`;
}
