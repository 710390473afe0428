import { request as httpRequestRaw, type IncomingMessage } from 'node:http';
import { request as httpsRequestRaw } from 'node:https';
import { RUNNER_VERSION } from '../version.ts';

/**
 * One HTTP exchange with a Sibyl server over node:http / node:https, the whole answer read.
 *
 * Why not the global `fetch`: it loads undici (its HTTP parser is WebAssembly), ~10 MB of memory
 * that an idle daemon keeps for the one or two API calls it makes (issue 16, bench/runner.bench.ts
 * "idle sibyl-runner run, RSS"). Node's own client costs ~1 MB. It follows fetch where the runner
 * depends on it: redirects (301/302/303/307/308, at most MAX_REDIRECTS; 303, and 301/302 after a
 * POST, go on as a GET without a body; Authorization is dropped when a redirect leaves the origin),
 * the body decoded as UTF-8, an AbortSignal that ends the exchange at any point. Connection errors
 * are Node's (`code` ECONNREFUSED, ENOTFOUND, a TLS code… — api/networkError.ts words them).
 */
export interface HttpRequest {
  method: string;
  headers: Record<string, string>;
  /** sent as is (UTF-8) */
  body?: string;
  signal?: AbortSignal;
}

export interface HttpAnswer {
  status: number;
  /** response headers by case-insensitive name, as fetch's `Headers.get` (null when absent) */
  headers: { get(name: string): string | null };
  text: string;
}

/** fetch's limit (Fetch standard, "HTTP-redirect fetch" step 5). */
export const MAX_REDIRECTS = 20;
/** An API answer is a few KB; a server sending more than this is not a Sibyl server. */
export const MAX_ANSWER_BYTES = 8 * 1024 * 1024;

/**
 * Raised for an answer over MAX_ANSWER_BYTES, a redirect loop, or a redirect to something other
 * than an http(s) address (or no address at all); `code` says which.
 */
export class HttpAnswerError extends Error {
  readonly code: 'answer_too_large' | 'too_many_redirects' | 'bad_redirect';
  constructor(code: HttpAnswerError['code'], message: string) {
    super(message);
    this.code = code;
    this.name = 'HttpAnswerError';
  }
}

const REDIRECTS = new Set([301, 302, 303, 307, 308]);

/**
 * Sends `req` to `url` and reads the answer. Rejects with Node's connection error, an AbortError
 * when `req.signal` aborts, or HttpAnswerError.
 */
export async function httpRequest(url: string | URL, req: HttpRequest): Promise<HttpAnswer> {
  let target = new URL(url);
  let { method, body } = req;
  const headers: Record<string, string> = { 'user-agent': `sibyl-runner/${RUNNER_VERSION}`, ...req.headers };
  for (let hop = 0; ; hop++) {
    const res = await send(target, method, headers, body, req.signal);
    const location = res.headers.location;
    if (!REDIRECTS.has(res.statusCode ?? 0) || location === undefined) return read(res, req.signal);
    // The redirect's own body is not wanted, however long the server would make it.
    res.destroy();
    if (hop === MAX_REDIRECTS) throw new HttpAnswerError('too_many_redirects', `more than ${MAX_REDIRECTS} redirects from ${String(url)}`);
    const next = URL.parse(location, target);
    if (next === null || (next.protocol !== 'http:' && next.protocol !== 'https:'))
      throw new HttpAnswerError('bad_redirect', `${String(target)} redirects to ${JSON.stringify(location)}, not an http(s) address`);
    if (res.statusCode === 303 || ((res.statusCode === 301 || res.statusCode === 302) && method === 'POST')) {
      method = 'GET';
      body = undefined;
      delete headers['content-type'];
    }
    // The Fetch standard drops Authorization when a redirect leaves the origin: the token is for this server.
    if (next.origin !== target.origin) delete headers.authorization;
    target = next;
  }
}

function send(
  url: URL,
  method: string,
  headers: Record<string, string>,
  body: string | undefined,
  signal: AbortSignal | undefined,
): Promise<IncomingMessage> {
  const open = url.protocol === 'https:' ? httpsRequestRaw : httpRequestRaw;
  const sized = body === undefined ? headers : { ...headers, 'content-length': String(Buffer.byteLength(body)) };
  return new Promise((resolve, reject) => {
    const r = open(url, { method, headers: sized, signal }, resolve);
    r.on('error', reject);
    r.end(body);
  });
}

function read(res: IncomingMessage, signal: AbortSignal | undefined): Promise<HttpAnswer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const fail = (err: Error): void => {
      res.destroy();
      reject(err);
    };
    res.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_ANSWER_BYTES) fail(new HttpAnswerError('answer_too_large', `the answer is over ${MAX_ANSWER_BYTES} bytes`));
      else chunks.push(chunk);
    });
    res.once('error', fail);
    // The request's signal destroys the socket; the response then ends with 'aborted'/'error' or just 'close'.
    res.once('close', () => {
      if (!res.complete)
        reject(
          signal?.aborted
            ? (signal.reason as Error)
            : Object.assign(new Error('the server closed the connection mid-answer'), { code: 'ECONNRESET' }),
        );
    });
    res.once('end', () => {
      const raw = res.headers;
      resolve({
        status: res.statusCode ?? 0,
        headers: {
          get: (name) => {
            const v = raw[name.toLowerCase()];
            return v === undefined ? null : Array.isArray(v) ? v.join(', ') : v;
          },
        },
        text: Buffer.concat(chunks)
          .toString('utf8')
          .replace(/^\uFEFF/, ''), // fetch's text() drops a BOM too
      });
    });
  });
}
