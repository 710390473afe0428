import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { RunnerError, errorMessage } from '../errors.ts';
import type { Logger } from '../logger.ts';
import { formatListenAddress, METRICS_LISTEN_KEY, type ListenAddress } from './listenAddress.ts';
import type { Readiness } from './readiness.ts';

/** What the endpoint answers with. */
export interface HealthRoutes {
  /** the Prometheus text exposition and its content type */
  metrics(): Promise<{ contentType: string; body: string }>;
  readiness(): Readiness;
}

export interface MetricsServer {
  /** `http://host:port` as bound (the real port when 0 was asked for) */
  url: string;
  close(): Promise<void>;
}

const JSON_TYPE = 'application/json; charset=utf-8';

/**
 * Serves exactly `GET|HEAD /metrics`, `/healthz` (200 while the process answers) and `/readyz`
 * (readiness.ts: 200 or 503 with a JSON reason); any other path is 404 and any other method on
 * these 405. Query strings are ignored (some scrapers add them). Nothing here changes the runner.
 *
 * Raises RunnerError `metrics_listen_failed` (remedy fixConfig, naming metrics_listen) when the
 * address cannot be bound: in use, not an address of this machine, or a privileged port.
 */
export async function listenMetrics(address: ListenAddress, routes: HealthRoutes, log: Logger): Promise<MetricsServer> {
  const server = createServer((req, res) => {
    answer(req, res, routes).catch((err: unknown) => {
      log.error('metrics request failed', { path: req.url, error: err });
      if (!res.headersSent) send(res, req, 500, JSON_TYPE, JSON.stringify({ error: 'internal error' }));
      else res.destroy();
    });
  });
  // A scraper that opens a connection and says nothing must not hold it (and the process) forever.
  server.requestTimeout = 10_000;
  server.headersTimeout = 5_000;
  try {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen({ host: address.host, port: address.port }, () => {
        server.off('error', reject);
        resolve();
      });
    });
  } catch (err) {
    throw new RunnerError('metrics_listen_failed', `cannot serve metrics on ${formatListenAddress(address)}: ${errorMessage(err)}`, {
      cause: err,
      remedy: 'fixConfig',
      context: { key: METRICS_LISTEN_KEY, address: formatListenAddress(address) },
    });
  }
  server.on('error', (err) => log.error('metrics server error', { error: err }));
  const bound = server.address() as AddressInfo;
  const url = `http://${formatListenAddress({ host: address.host, port: bound.port })}`;
  return { url, close: () => closeServer(server) };
}

async function answer(req: IncomingMessage, res: ServerResponse, routes: HealthRoutes): Promise<void> {
  const path = (req.url ?? '/').split('?')[0];
  if (path !== '/metrics' && path !== '/healthz' && path !== '/readyz') return send(res, req, 404, JSON_TYPE, '{"error":"not found"}');
  if (req.method !== 'GET' && req.method !== 'HEAD') {
    res.setHeader('Allow', 'GET, HEAD');
    return send(res, req, 405, JSON_TYPE, '{"error":"method not allowed"}');
  }
  if (path === '/healthz') return send(res, req, 200, JSON_TYPE, '{"alive":true}');
  if (path === '/readyz') {
    const r = routes.readiness();
    return send(res, req, r.ready ? 200 : 503, JSON_TYPE, JSON.stringify(r));
  }
  const m = await routes.metrics();
  send(res, req, 200, m.contentType, m.body);
}

function send(res: ServerResponse, req: IncomingMessage, status: number, type: string, body: string): void {
  res.writeHead(status, { 'Content-Type': type, 'Content-Length': Buffer.byteLength(body), 'Cache-Control': 'no-store' });
  res.end(req.method === 'HEAD' ? undefined : body);
}

function closeServer(server: Server): Promise<void> {
  return new Promise((resolve) => {
    server.close(() => resolve());
    // Keep-alive connections of a scraper would hold close() open until they time out.
    server.closeAllConnections();
  });
}
