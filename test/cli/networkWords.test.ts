import assert from 'node:assert/strict';
import { createServer as createHttpServer, type Server } from 'node:http';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { probeServer } from '../../main/runner/doctor/server.ts';
import { cliRun } from '../helpers/runnerHarness.ts';
import { tempDir } from '../helpers/tmp.ts';

/**
 * Network failures in people's words, one wording for the CLI, doctor and the link (issue 15,
 * item 17; api/networkError.ts): never `(ECONNREFUSED)`, `(bad port)` or "server error (HTTP 501)".
 */

async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as { port: number };
  await new Promise((r) => server.close(r));
  return port;
}

/** A web server that is not Sibyl, as Python's http.server answers: 404 pages for GET, 501 for other methods. */
async function notSibyl(): Promise<string> {
  const server: Server = createHttpServer((req, res) => {
    const status = req.method === 'GET' ? 404 : 501;
    res.writeHead(status, { 'content-type': 'text/html;charset=utf-8' });
    res.end(`<html><body>Error ${status}</body></html>`);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  after(() => new Promise<void>((r) => server.close(() => r())));
  return `http://127.0.0.1:${(server.address() as { port: number }).port}`;
}

/** `register` against `server`, with a token so no sign-in is attempted: its one stderr line and exit code. */
async function registerAt(server: string): Promise<{ code: number | null; line: string }> {
  const home = tempDir();
  const r = await cliRun(['register', '--server', server, '--token', 't', '--config', join(home, 'runner.yaml')], { HOME: home });
  const lines = r.stderr.trimEnd().split('\n');
  assert.equal(lines.length, 1, r.stderr);
  return { code: r.code, line: lines[0]! };
}

test('nothing listening: "Nothing is answering at 127.0.0.1:PORT — is Sibyl running?", the same words as doctor', async () => {
  const port = await closedPort();
  const r = await registerAt(`http://127.0.0.1:${port}`);
  assert.equal(r.code, 1);
  assert.equal(r.line, `sibyl-runner register: Nothing is answering at 127.0.0.1:${port} — is Sibyl running?`);
  const probe = await probeServer(`http://127.0.0.1:${port}`, {
    allowInsecureHttp: false,
    configPath: 'runner.yaml',
    signal: new AbortController().signal,
  });
  assert.equal(`sibyl-runner register: ${probe.server.summary}`, r.line, 'doctor says the same');
});

test('an unknown host: "Can\'t find HOST"', async () => {
  const r = await registerAt('https://sibyl-cli-test.invalid');
  assert.equal(r.code, 1);
  assert.equal(r.line, "sibyl-runner register: Can't find sibyl-cli-test.invalid: no such host");
});

test('a web server that is not Sibyl (501 for POST, 404 pages for GET): "That address is not a Sibyl server"', async () => {
  const url = await notSibyl();
  const register = await registerAt(url);
  assert.equal(register.code, 1);
  assert.equal(
    register.line,
    'sibyl-runner register: That address is not a Sibyl server: POST /api/runners/register answered HTTP 501 (text/html); use the site root of Sibyl (without /api), e.g. https://sibyl.example.com',
  );
  const home = tempDir();
  const login = await cliRun(['login', '--server', url, '--token', 't', '--config', join(home, 'runner.yaml')], { HOME: home });
  assert.equal(login.code, 1);
  assert.equal(
    login.stderr.trim(),
    'sibyl-runner login: That address is not a Sibyl server: GET /api/auth/me answered HTTP 404 (text/html); use the site root of Sibyl (without /api), e.g. https://sibyl.example.com',
  );
  for (const text of [register.line, login.stderr]) assert.doesNotMatch(text, /ECONN|bad port|server error|HTTP 501\)$/);
});
