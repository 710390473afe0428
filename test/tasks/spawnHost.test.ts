import assert from 'node:assert/strict';
import { test } from 'node:test';
import { AgentProcess } from '../../main/runner/tasks/agentProcess.ts';
import { HELPER_FLAGS, SpawnHost, type ChildLike } from '../../main/runner/tasks/spawnHost.ts';

const POSIX_ONLY = process.platform === 'win32' ? 'the spawn helper is not used on Windows' : false;
const env = { PATH: process.env.PATH ?? '/usr/bin:/bin' };
const options = { env, stdin: 'ignore' as const, detached: true };

/** `host.spawn`, which must have been done by the helper (not handed back to the caller). */
async function viaHelper(host: SpawnHost, ...request: Parameters<SpawnHost['spawn']>): Promise<ChildLike> {
  const child = await host.spawn(...request);
  assert.ok(child, 'the helper started it');
  return child;
}

/** Everything a child says and how it ends, as the caller sees it. */
function collect(child: ChildLike): Promise<{ stdout: string; stderr: string; exit: unknown[]; close: unknown[] }> {
  const out: Buffer[] = [];
  const err: Buffer[] = [];
  let exit: unknown[] = [];
  child.stdout?.on('data', (c) => out.push(c));
  child.stderr?.on('data', (c) => err.push(c));
  child.once('exit', (...a) => (exit = a));
  return new Promise((resolve) =>
    child.once('close', (...close) =>
      resolve({ stdout: Buffer.concat(out).toString(), stderr: Buffer.concat(err).toString(), exit, close }),
    ),
  );
}

test('a child started by the helper: its pid, output on both streams, stdin, exit and close', { skip: POSIX_ONLY }, async () => {
  const host = new SpawnHost();
  const child = await viaHelper(host, '/bin/sh', ['-c', 'read line; echo "out $line"; echo err >&2; exit 3'], {
    ...options,
    stdin: 'pipe',
  });
  assert.ok(Number.isInteger(child.pid) && child.pid! > 0);
  child.stdin?.end('hello\n');
  const seen = await collect(child);
  assert.equal(seen.stdout, 'out hello\n');
  assert.equal(seen.stderr, 'err\n');
  assert.deepEqual(seen.exit, [3, null]);
  assert.deepEqual(seen.close, [3, null]);
});

test('a missing program is an error event, as with spawn; an environment too large rejects with E2BIG', { skip: POSIX_ONLY }, async () => {
  const host = new SpawnHost();
  const missing = await viaHelper(host, '/no/such/program', [], options);
  const err = await new Promise<NodeJS.ErrnoException>((r) => missing.once('error', r));
  assert.equal(err.code, 'ENOENT');
  await assert.rejects(host.spawn('/bin/true', [], { ...options, env: { ...env, HUGE: 'x'.repeat(256 * 1024) } }), { code: 'E2BIG' });
});

test('paused output holds back the agent (bounded), loses nothing, and close waits for the last chunk', { skip: POSIX_ONLY }, async () => {
  const host = new SpawnHost();
  // 20 MB of output: far more than the helper reads ahead.
  const child = await viaHelper(host, '/bin/sh', ['-c', 'head -c 20971520 /dev/zero'], options);
  let received = 0;
  let closed = false;
  child.stdout?.on('data', (c) => (received += c.length));
  child.once('close', () => (closed = true));
  child.stdout?.pause();
  await new Promise((r) => setTimeout(r, 500));
  assert.ok(received <= 2 * 1024 * 1024, `little arrives while paused (${received} bytes)`);
  assert.equal(closed, false, 'the agent is held on its pipe, not finished');
  child.stdout?.resume();
  await new Promise<void>((r) => child.once('close', () => r()));
  assert.equal(received, 20 * 1024 * 1024);
});

test('AgentProcess.start through the helper runs the agent to the same result as on the main thread', { skip: POSIX_ONLY }, async () => {
  const host = new SpawnHost();
  const lines: string[] = [];
  const proc = await AgentProcess.start(
    { argv: ['/bin/sh', '-c', 'echo one; echo two; exit 2'], cwd: process.cwd(), env, timeoutMs: 10_000, onLine: (_s, l) => lines.push(l) },
    host,
  );
  assert.ok(proc.pid !== undefined);
  const exit = await proc.exited;
  assert.equal(exit.exitCode, 2);
  assert.deepEqual(lines, ['one', 'two']);
  assert.equal(exit.stdout, 'one\ntwo');
});

test('a stopped agent started through the helper is ended by its group signal', { skip: POSIX_ONLY }, async () => {
  const host = new SpawnHost();
  const proc = await AgentProcess.start(
    { argv: ['/bin/sleep', '30'], cwd: process.cwd(), env, timeoutMs: 60_000, cancelGraceMs: 200 },
    host,
  );
  await proc.started;
  proc.stop('task_cancel');
  const exit = await proc.exited;
  assert.equal(exit.stoppedBy, 'task_cancel');
  assert.equal(exit.signal, 'SIGTERM');
});

test(
  'many children at once, printing little or much on both streams: every byte arrives, in order, once',
  { skip: POSIX_ONLY },
  async () => {
    const host = new SpawnHost();
    // Sizes around the point where the helper stops relaying a stream and hands its pipe over.
    const sizes = [0, 1, 4096, 200_000, 262_144, 300_000, 3_000_000];
    const runs = sizes.flatMap((n) =>
      [false, true].map(async (exitAtOnce) => {
        // A numbered line per 8 bytes: lost, doubled or reordered output shows in the text.
        const script = `i=0; while [ $i -lt ${Math.ceil(n / 8)} ]; do printf '%07d\\n' $i; i=$((i+1)); done | head -c ${n}; printf 'e%s' ${n} >&2${exitAtOnce ? '; exit 0' : '; sleep 0.1'}`;
        const child = await viaHelper(host, '/bin/sh', ['-c', script], options);
        const seen = await collect(child);
        const want = Array.from({ length: Math.ceil(n / 8) }, (_, i) => `${String(i).padStart(7, '0')}\n`)
          .join('')
          .slice(0, n);
        assert.equal(seen.stdout.length, n, `${n} bytes of stdout`);
        assert.ok(seen.stdout === want, `the ${n} bytes of stdout as printed`);
        assert.equal(seen.stderr, `e${n}`);
        assert.deepEqual(seen.close, [0, null]);
      }),
    );
    await Promise.all(runs);
  },
);

test(
  'a helper that Node refuses to start (an option it does not know): every waiting spawn is handed back, agents run here',
  { skip: POSIX_ONLY },
  async () => {
    const host = new SpawnHost(['--no-such-option-for-node']);
    // A burst: some requests go out after the helper has already exited (their send fails).
    const burst = await Promise.all(
      Array.from({ length: 20 }, async (_, i) => {
        await new Promise((r) => setTimeout(r, i * 2));
        return host.spawn('/bin/true', [], options);
      }),
    );
    assert.deepEqual(burst, Array<undefined>(20).fill(undefined), 'nothing was forked there: each caller spawns itself');
    assert.equal(host.usable, false, 'the caller spawns on its own from then on');
    // Through the callers' path: output and a missing command, as on the main thread (no uncaught error).
    const lines: string[] = [];
    const ok = await AgentProcess.start(
      { argv: ['/bin/sh', '-c', 'echo one'], cwd: process.cwd(), env, timeoutMs: 10_000, onLine: (_s, l) => lines.push(l) },
      host,
    );
    await ok.started;
    assert.equal((await ok.exited).exitCode, 0);
    assert.deepEqual(lines, ['one']);
    const missing = await AgentProcess.start({ argv: ['/no/such/agent'], cwd: process.cwd(), env, timeoutMs: 10_000 }, host);
    assert.equal((await missing.exited).spawnError, 'command not found: /no/such/agent');
  },
);

test('the helper flags are ones this Node takes without a word', { skip: POSIX_ONLY }, async () => {
  const { execFileSync } = await import('node:child_process');
  const out = execFileSync(process.execPath, [...HELPER_FLAGS, '-e', 'gc({ type: "minor" }); process.stdout.write("ok")'], {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  assert.equal(out, 'ok');
});
