// The REST client's transport (api/httpRequest.ts) against real HTTP servers on 127.0.0.1: what it
// keeps of fetch (redirects, Authorization only within the origin, UTF-8, abort) and its limits.
import assert from 'node:assert/strict';
import { createServer, type IncomingMessage, type RequestListener } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, test } from 'node:test';
import { HttpAnswerError, httpRequest, MAX_ANSWER_BYTES, MAX_REDIRECTS } from '../../main/runner/api/httpRequest.ts';

interface Seen {
  method: string;
  url: string;
  headers: IncomingMessage['headers'];
  body: string;
}

/** A server on 127.0.0.1 that records what it was sent. */
async function serve(handler: RequestListener): Promise<{ url: string; seen: Seen[] }> {
  const seen: Seen[] = [];
  const server = createServer((req, res) => {
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (c: string) => (body += c));
    req.on('end', () => {
      seen.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers, body });
      handler(req, res);
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  after(() => {
    server.closeAllConnections();
    server.close();
  });
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, seen };
}

test('sends the method, headers and body; reads status, headers and a UTF-8 body without its BOM', async () => {
  const s = await serve((_req, res) =>
    res.writeHead(201, { 'content-type': 'application/json', 'Retry-After': '7' }).end('\uFEFF{"name":"café ☕"}'),
  );
  const res = await httpRequest(`${s.url}/api/x`, {
    method: 'POST',
    headers: { authorization: 'Bearer t', 'content-type': 'application/json' },
    body: '{"a":"é"}',
  });
  assert.equal(res.status, 201);
  assert.equal(res.headers.get('Content-Type'), 'application/json');
  assert.equal(res.headers.get('retry-after'), '7');
  assert.equal(res.headers.get('x-absent'), null);
  assert.deepEqual(JSON.parse(res.text), { name: 'café ☕' });
  const [req] = s.seen;
  assert.equal(req?.method, 'POST');
  assert.equal(req?.body, '{"a":"é"}');
  assert.equal(req?.headers['content-length'], String(Buffer.byteLength('{"a":"é"}')));
  assert.equal(req?.headers.authorization, 'Bearer t');
  assert.match(req?.headers['user-agent'] ?? '', /^sibyl-runner\/\d/);
});

test('follows redirects as fetch does: 307 keeps the method and body, 303 and a POST 302 go on as a GET', async () => {
  const s = await serve((req, res) => {
    const to: Record<string, [number, string]> = { '/a': [307, '/b'], '/b': [302, '/c'], '/c-post': [303, '/d'] };
    const hop = to[req.url ?? ''];
    if (hop) res.writeHead(hop[0], { location: hop[1] }).end();
    else res.end(`at ${req.url}`);
  });
  const res = await httpRequest(`${s.url}/a`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' });
  assert.equal(res.text, 'at /c');
  assert.deepEqual(
    s.seen.map((r) => [r.method, r.url, r.body, r.headers['content-type'] ?? null]),
    [
      ['POST', '/a', '{}', 'application/json'],
      ['POST', '/b', '{}', 'application/json'],
      ['GET', '/c', '', null],
    ],
  );
  const patched = await httpRequest(`${s.url}/c-post`, { method: 'PATCH', headers: {}, body: 'x' });
  assert.equal(patched.text, 'at /d');
  assert.equal(s.seen.at(-1)?.method, 'GET');
});

test('a redirect to another origin does not carry the token', async () => {
  const other = await serve((_req, res) => res.end('elsewhere'));
  const s = await serve((req, res) => {
    if (req.url === '/same') res.writeHead(302, { location: '/there' }).end();
    else if (req.url === '/there') res.writeHead(302, { location: `${other.url}/x` }).end();
    else res.end();
  });
  const res = await httpRequest(`${s.url}/same`, { method: 'GET', headers: { authorization: 'Bearer secret' } });
  assert.equal(res.text, 'elsewhere');
  assert.equal(s.seen[1]?.headers.authorization, 'Bearer secret', 'same origin: kept');
  assert.equal(other.seen[0]?.headers.authorization, undefined, 'another origin: dropped');
});

test('a redirect loop and an endless answer end with HttpAnswerError', async () => {
  const s = await serve((req, res) => {
    if (req.url === '/loop') res.writeHead(302, { location: '/loop' }).end();
    else {
      res.writeHead(200);
      const chunk = Buffer.alloc(256 * 1024, 0x61);
      const more = (): void => {
        while (!res.destroyed && res.write(chunk));
        if (!res.destroyed) res.once('drain', more);
      };
      more();
    }
  });
  await assert.rejects(httpRequest(`${s.url}/loop`, { method: 'GET', headers: {} }), (err: unknown) => {
    assert.ok(err instanceof HttpAnswerError);
    assert.equal(err.code, 'too_many_redirects');
    return true;
  });
  assert.equal(s.seen.length, MAX_REDIRECTS + 1);
  await assert.rejects(httpRequest(`${s.url}/big`, { method: 'GET', headers: {} }), {
    code: 'answer_too_large',
    message: `the answer is over ${MAX_ANSWER_BYTES} bytes`,
  });
});

// The timeout only turns a hang (the endless body read on) into a failure.
test('a redirect to a non-http address is refused; a redirect with an endless body is not read', { timeout: 30_000 }, async () => {
  let endlessClosed!: () => void;
  const closed = new Promise<void>((resolve) => (endlessClosed = resolve));
  const s = await serve((req, res) => {
    if (req.url === '/file') res.writeHead(302, { location: 'file:///etc/passwd' }).end();
    else if (req.url === '/garbled') res.writeHead(302, { location: 'http://[::1' }).end();
    else if (req.url === '/endless') {
      res.writeHead(302, { location: '/done' });
      res.once('close', endlessClosed);
      const chunk = Buffer.alloc(256 * 1024, 0x62);
      const more = (): void => {
        while (!res.destroyed && res.write(chunk));
        if (!res.destroyed) res.once('drain', more);
      };
      more();
    } else res.writeHead(200).end('done');
  });
  for (const path of ['/file', '/garbled'])
    await assert.rejects(httpRequest(`${s.url}${path}`, { method: 'GET', headers: {} }), (err: unknown) => {
      assert.ok(err instanceof HttpAnswerError);
      assert.equal(err.code, 'bad_redirect');
      assert.match(err.message, /not an http\(s\) address/);
      return true;
    });
  const answer = await httpRequest(`${s.url}/endless`, { method: 'GET', headers: {} });
  assert.equal(answer.text, 'done');
  await closed; // the runner hung up on it
});

test('an abort ends the exchange before the answer and in the middle of it', async () => {
  const s = await serve((req, res) => {
    if (req.url === '/silent') return; // never answers
    res.writeHead(200);
    res.write('partial'); // and never ends
  });
  const before = new AbortController();
  setTimeout(() => before.abort(new Error('stop waiting')), 50);
  await assert.rejects(httpRequest(`${s.url}/silent`, { method: 'GET', headers: {}, signal: before.signal }), { name: 'AbortError' });
  const during = new AbortController();
  const pending = httpRequest(`${s.url}/partial`, { method: 'GET', headers: {}, signal: during.signal });
  setTimeout(() => during.abort(new Error('stop reading')), 50);
  await assert.rejects(pending, /stop reading|aborted/);
});

test('a server that closes mid-answer is ECONNRESET; nothing listening is ECONNREFUSED', async () => {
  const s = await serve((_req, res) => {
    res.writeHead(200, { 'content-length': '100' });
    res.write('short');
    setTimeout(() => res.destroy(), 20);
  });
  await assert.rejects(httpRequest(`${s.url}/`, { method: 'GET', headers: {} }), { code: 'ECONNRESET' });
  const gone = createServer();
  await new Promise<void>((r) => gone.listen(0, '127.0.0.1', r));
  const port = (gone.address() as AddressInfo).port;
  await new Promise<void>((r) => gone.close(() => r()));
  await assert.rejects(httpRequest(`http://127.0.0.1:${port}/`, { method: 'GET', headers: {} }), { code: 'ECONNREFUSED' });
});
