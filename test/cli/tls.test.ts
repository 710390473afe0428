import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { createServer, type TLSSocket } from 'node:tls';
import { cli, cliRun, registeredRunner, writeYaml } from '../helpers/runnerHarness.ts';
import { tempDir } from '../helpers/tmp.ts';

/**
 * A self-signed certificate for localhost and 127.0.0.1, valid until 2126, made with `openssl req
 * -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 36500 -subj /CN=localhost
 * -addext subjectAltName=DNS:localhost,IP:127.0.0.1`; trusted by the CLI through NODE_EXTRA_CA_CERTS.
 */
const FIXTURES = join(import.meta.dirname, '..', 'helpers', 'tls');
const TRUST_FIXTURE = { NODE_EXTRA_CA_CERTS: join(FIXTURES, 'localhost.crt') };

/** SIGTERM to a `sibyl-runner run`; resolves to its exit code once it has closed. */
function stop(run: ReturnType<typeof cli>): Promise<number | null> {
  run.kill('SIGTERM');
  return new Promise((resolve) => run.on('close', resolve));
}

/**
 * A TLS front for a plain-HTTP server on 127.0.0.1:`port` (certificate for localhost and
 * 127.0.0.1, test/helpers/tls), as a reverse proxy in front of Sibyl Core would be. Counts the
 * TLS sessions it completed; stopped after the test file.
 */
async function tlsFront(port: number): Promise<{ url: string; sessions: () => number }> {
  let sessions = 0;
  const open = new Set<Socket>();
  const server = createServer(
    { key: readFileSync(join(FIXTURES, 'localhost.key')), cert: readFileSync(join(FIXTURES, 'localhost.crt')) },
    (client: TLSSocket) => {
      sessions++;
      const upstream = connect(port, '127.0.0.1');
      for (const s of [client, upstream]) {
        open.add(s);
        s.on('close', () => open.delete(s));
        s.on('error', () => {
          client.destroy();
          upstream.destroy();
        });
      }
      client.pipe(upstream).pipe(client);
    },
  );
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  after(async () => {
    for (const s of open) s.destroy();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });
  return { url: `https://localhost:${(server.address() as { port: number }).port}`, sessions: () => sessions };
}

// The bundle loads tls and https on first use (scripts/builtinsByRequire.mjs): this is the test
// that a runner whose server is https:// still gets them, for its REST calls and its wss:// link.
test('the bundled CLI runs against an https:// server: REST and the WebSocket link over TLS', async () => {
  const { core, id, home, config, env } = await registeredRunner();
  const front = await tlsFront(core.port);
  writeYaml(config, { server_url: front.url, runner_id: id, worktree_base: join(home, 'wt'), log_dir: join(home, 'logs') });
  const run = cli(['run', '--config', config, '--quiet'], { ...env, ...TRUST_FIXTURE });
  await core.until(() => core.connected(id), 20_000, 'the runner to connect through the TLS front');
  assert.ok(front.sessions() >= 1, 'the runner reached the server through TLS');
  assert.equal(await stop(run), 0, run.output().stderr);

  // doctor's server and account checks are REST calls (node:https through api/httpRequest.ts).
  const before = core.requests.length;
  const doctor = await cliRun(['doctor', '--config', config], { ...env, ...TRUST_FIXTURE });
  const paths = core.requests.slice(before).map((r) => r.path);
  assert.ok(
    paths.some((p) => p.startsWith('/api/')),
    `doctor's REST calls reached the server: ${JSON.stringify(paths)}\n${doctor.stdout}${doctor.stderr}`,
  );
});

test('an idle runner whose server is http:// never loads tls, https or readline', async () => {
  const { core, id, config, env } = await registeredRunner();
  // Node's own list of the built-ins this process loaded, written as the runner exits.
  const dir = tempDir();
  const hook = join(dir, 'loaded.mjs');
  const list = join(dir, 'loaded.txt');
  writeFileSync(
    hook,
    `import { writeFileSync } from 'node:fs';\nprocess.on('exit', () => writeFileSync(${JSON.stringify(list)}, process.moduleLoadList.join('\\n')));\n`,
  );
  const run = cli(['run', '--config', config, '--quiet'], { ...env, NODE_OPTIONS: `--import ${hook}` });
  await core.until(() => core.connected(id), 20_000, 'the runner to connect');
  assert.equal(await stop(run), 0, run.output().stderr);
  const loaded = readFileSync(list, 'utf8').split('\n');
  assert.ok(loaded.includes('NativeModule net'), "the list is the runner's");
  for (const name of ['tls', 'https', 'readline'])
    assert.ok(
      !loaded.includes(`NativeModule ${name}`),
      `${name} was loaded: ${loaded.filter((l) => /tls|https|readline/.test(l)).join(', ')}`,
    );
});
