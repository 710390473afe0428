#!/usr/bin/env node
// Kubernetes preStop hook: let the running tasks finish before the pod's SIGTERM. It pauses the
// runner over its control socket (no new tasks; the server sees it draining), then waits until no
// task runs or BUDGET seconds have passed, and returns. The kubelet then sends SIGTERM, and the
// runner's own drain stops whatever still runs within drain_timeout, reports it (cancelled,
// retryable) and flushes its results. So: BUDGET + drain_timeout + ~15 s ≤ terminationGracePeriodSeconds.
//
//   prestop.mjs BUDGET_SECONDS
//
// The socket is found as `sibyl-runner` finds it (main/runner/control/controlSocket.ts
// controlSocketPath, config location as loadConfig.ts locateConfig; test/deploy checks they agree).
// Always exits 0: a failing hook only delays the pod's end, it never keeps a task alive.
import { realpathSync } from 'node:fs';
import { connect } from 'node:net';
import { homedir } from 'node:os';
import { basename, dirname, join, resolve } from 'node:path';

const budget = Number(process.argv[2]);
if (!Number.isFinite(budget) || budget < 0) done(`usage: prestop.mjs BUDGET_SECONDS (got ${JSON.stringify(process.argv[2])})`);
const deadline = Date.now() + budget * 1000;
const socket = socketPath();

let client;
try {
  client = await open(socket);
} catch (err) {
  done(`no runner answers on ${socket} (${err.code ?? err.message}); nothing to wait for`);
}
const paused = await client.ask({ method: 'pause' });
if (!paused.ok) done(`the runner refused to pause: ${paused.error?.message}`);
let running = paused.result.running.length;
say(`paused: no new tasks; ${running} running`);
let lastSaid = Date.now();
while (running > 0 && Date.now() < deadline) {
  await new Promise((r) => setTimeout(r, 1000));
  const snap = await client.ask({ method: 'snapshot' });
  if (!snap.ok) break;
  const now = snap.result.running.length;
  if (now !== running || Date.now() - lastSaid > 30_000) {
    say(`${now} task(s) still running; ${Math.max(0, Math.round((deadline - Date.now()) / 1000))} s left before the drain stops them`);
    lastSaid = Date.now();
  }
  running = now;
}
done(running === 0 ? 'no task running: ready to stop' : `${running} task(s) still running: the drain stops and reports them`);

function socketPath() {
  const env = process.env;
  const home = env.HOME || homedir();
  const expand = (p) => (p === '~' ? home : p.startsWith('~/') ? join(home, p.slice(2)) : p);
  const pick = env.SIBYL_CONFIG_FILE || (env.SIBYL_CONFIG_DIR ? join(env.SIBYL_CONFIG_DIR, 'runner.yaml') : '');
  const config = canonical(resolve(expand(pick || join(home, '.config', 'sibyl', 'runner.yaml'))));
  const name = basename(config).replace(/\.(ya?ml|json|toml)$/i, '');
  return join(dirname(config), `${name || 'runner'}.sock`);
}

function canonical(path) {
  try {
    return realpathSync.native(path);
  } catch {
    try {
      return join(realpathSync.native(dirname(path)), basename(path));
    } catch {
      return path;
    }
  }
}

/** One connection; requests answered in order by id (one JSON object per line each way). */
function open(path) {
  return new Promise((resolveOpen, reject) => {
    const sock = connect(path);
    const waiting = new Map();
    let id = 0;
    let buf = '';
    sock.setEncoding('utf8');
    sock.on('data', (chunk) => {
      buf += chunk;
      for (let nl = buf.indexOf('\n'); nl !== -1; nl = buf.indexOf('\n')) {
        const res = JSON.parse(buf.slice(0, nl));
        buf = buf.slice(nl + 1);
        waiting.get(res.id)?.(res);
        waiting.delete(res.id);
      }
    });
    sock.on('close', () => {
      for (const answer of waiting.values()) answer({ ok: false, error: { message: 'the runner closed the connection' } });
      waiting.clear();
    });
    sock.once('error', reject);
    sock.once('connect', () => {
      sock.on('error', () => {});
      resolveOpen({
        ask: (req) =>
          new Promise((answer) => {
            if (sock.destroyed) return answer({ ok: false, error: { message: 'the runner closed the connection' } });
            waiting.set(++id, answer);
            sock.write(JSON.stringify({ id, ...req }) + '\n');
          }),
      });
    });
  });
}

function say(message) {
  console.log(`sibyl-runner preStop: ${message}`);
}

function done(message) {
  say(message);
  process.exit(0);
}
