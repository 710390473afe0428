import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import YAML from 'yaml';
import { FakeCore } from '../test/helpers/fakeCore.ts';
import { percentile, printTable, rssKb, type Row } from './stats.ts';

/**
 * The real `sibyl-runner run` process against a fake Sibyl Core on loopback: pickup latency,
 * spawn latency, throughput, memory under a 50 MB agent, idle RSS, dead-link recovery.
 */
const BIN = resolve(import.meta.dirname, '..', 'bin', 'sibyl-runner.js');
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const nowNs = (): bigint => BigInt(Math.round((performance.timeOrigin + performance.now()) * 1e6));

interface Runner {
  core: FakeCore;
  id: string;
  child: ChildProcess;
  dir: string;
  stop(): Promise<void>;
}

async function startRunner(core: FakeCore, maxAgents: number): Promise<Runner> {
  const dir = mkdtempSync(join(tmpdir(), 'sibyl-bench-'));
  const { id, accessToken } = core.addRunner({ name: 'bench', max_concurrent_agents: maxAgents });
  const config = join(dir, 'runner.yaml');
  writeFileSync(
    config,
    YAML.stringify({
      server_url: core.url,
      runner_id: id,
      name: 'bench',
      max_concurrent_agents: maxAgents,
      worktree_base: join(dir, 'wt'),
      log_dir: join(dir, 'logs'),
      state_dir: join(dir, 'state'),
    }),
  );
  const child = spawn(
    process.execPath,
    [...(process.env.BENCH_NODE_FLAGS ? process.env.BENCH_NODE_FLAGS.split(' ') : []), BIN, 'run', '--quiet', '--config', config],
    { env: { PATH: process.env.PATH, HOME: dir, SIBYL_ACCESS_TOKEN: accessToken }, stdio: ['ignore', 'ignore', 'inherit'] },
  );
  await core.until(() => core.connected(id), 15_000, 'bench runner to connect');
  return {
    core,
    id,
    child,
    dir,
    async stop() {
      child.kill('SIGTERM');
      await new Promise((r) => child.once('close', r));
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

let seq = 0;
function assignMsg(command: string[], extra: Record<string, unknown> = {}): { taskId: string; msg: Record<string, unknown> } {
  const taskId = crypto.randomUUID();
  seq++;
  return {
    taskId,
    msg: {
      type: 'task_assign',
      task_id: taskId,
      agent_id: `agent_${String(seq).padStart(12, '0')}`,
      project_id: 'project_bench',
      config: { command, ...extra },
    },
  };
}

/** One task at a time; `gapMs` between a completion and the next assignment (0 = back to back). */
async function pickupLatency(r: Runner, n: number, gapMs = 0): Promise<number[]> {
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    if (gapMs) await sleep(gapMs / 2 + Math.random() * gapMs);
    const { taskId, msg } = assignMsg(['/bin/true']);
    const t0 = performance.now();
    r.core.send(r.id, msg);
    const ack = await r.core.waitFor((f) => f.message?.type === 'task_ack' && f.message.task_id === taskId, 5000, 'ack');
    out.push(ack.at - t0);
    await r.core.waitFor((f) => f.message?.type === 'task_complete' && f.message.task_id === taskId, 5000, 'complete');
  }
  return out;
}

async function spawnLatency(r: Runner, n: number): Promise<number[]> {
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    const { taskId, msg } = assignMsg(['/bin/date', '+%s%N']);
    const t0 = nowNs();
    r.core.send(r.id, msg);
    const done = await r.core.waitFor((f) => f.message?.type === 'task_complete' && f.message.task_id === taskId, 5000, 'complete');
    const m = done.message;
    if (m?.type !== 'task_complete' || !m.result.stdout) throw new Error('no timestamp from the agent');
    out.push(Number(BigInt(m.result.stdout.trim()) - t0) / 1e6);
  }
  return out;
}

interface Throughput {
  perSec: number;
  lost: number;
  /** delivery checks the runner wrote per task_complete (link/outbox.ts coalesces them) */
  checksPerResult: number;
  /** ms from a task_complete reaching the core to the first check written after it reaching the core */
  checkLagMs: number[];
}

async function throughput(r: Runner, total: number, concurrency: number): Promise<Throughput> {
  const pending = new Set<string>();
  let sent = 0;
  let completed = 0;
  const before = r.core.messagesOf('task_complete').length;
  const checksBefore = r.core.deliveryChecks.length;
  const framesBefore = r.core.frames.length;
  const t0 = performance.now();
  const sendOne = (): void => {
    const { taskId, msg } = assignMsg(['/bin/true']);
    pending.add(taskId);
    sent++;
    r.core.send(r.id, msg);
  };
  for (let i = 0; i < concurrency; i++) sendOne();
  while (completed < total) {
    await sleep(1);
    const now = r.core.messagesOf('task_complete').length - before;
    for (; completed < now; completed++) if (sent < total) sendOne();
    if (performance.now() - t0 > 60_000) break;
  }
  const secs = (performance.now() - t0) / 1000;
  const ok = r.core
    .messagesOf('task_complete')
    .slice(before)
    .filter((m) => m.success).length;
  await sleep(200); // the last checks
  const checks = r.core.deliveryChecks.slice(checksBefore);
  const checkLagMs = r.core.frames
    .slice(framesBefore)
    .filter((f) => f.message?.type === 'task_complete')
    .map((f) => (checks.find((c) => c.at >= f.at)?.at ?? NaN) - f.at)
    .filter((ms) => !Number.isNaN(ms));
  return { perSec: completed / secs, lost: total - ok, checksPerResult: checks.length / completed, checkLagMs };
}

async function bigOutput(r: Runner): Promise<{ growthMb: number; updates: number; minGapMs: number; seconds: number }> {
  const pid = r.child.pid!;
  const base = rssKb(pid);
  let peak = base;
  const { taskId, msg } = assignMsg([
    '/bin/sh',
    '-c',
    'i=0; while [ $i -lt 4 ]; do head -c 13107200 /dev/zero | tr "\\0" "x" | fold -w 100; sleep 0.5; i=$((i+1)); done',
  ]);
  const t0 = performance.now();
  r.core.send(r.id, msg);
  const timer = setInterval(() => (peak = Math.max(peak, rssKb(pid))), 20);
  await r.core.waitFor((f) => f.message?.type === 'task_complete' && f.message.task_id === taskId, 120_000, 'big output completion');
  clearInterval(timer);
  const seconds = (performance.now() - t0) / 1000;
  const agentId = (msg as { agent_id: string }).agent_id;
  const updates = r.core.frames.filter(
    (f) => f.message?.type === 'agent_update' && f.message.agent_id === agentId && f.message.activity?.startsWith('stdout:'),
  );
  const gaps = updates.slice(1).map((u, i) => u.at - updates[i]!.at);
  return { growthMb: (peak - base) / 1024, updates: updates.length, minGapMs: gaps.length ? Math.min(...gaps) : NaN, seconds };
}

/**
 * The floor for task throughput on this machine, now: one Node process (the runner's heap size)
 * spawning `/bin/true` detached with piped output, one at a time, waiting for each to close.
 */
async function spawnFloor(n: number): Promise<number[]> {
  const { spawn: spawnChild } = await import('node:child_process');
  const ballast = Array.from({ length: 40 }, () => Buffer.alloc(1024 * 1024, 1)); // ~ the runner's RSS
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    const t0 = performance.now();
    const child = spawnChild('/bin/true', [], { detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
    out.push(performance.now() - t0);
    await new Promise((r) => child.once('close', r));
  }
  ballast.length = 0;
  return out;
}

async function deadLink(core: FakeCore, r: Runner): Promise<number> {
  const accepted = (): number => core.handshakes.filter((h) => h.runnerId === r.id && h.outcome === 'accepted').length;
  const before = accepted();
  const t0 = performance.now();
  core.silence(r.id);
  while (accepted() === before) {
    await sleep(50);
    if (performance.now() - t0 > 90_000) return NaN;
  }
  return (performance.now() - t0) / 1000;
}

export async function run(): Promise<Row[]> {
  if (process.env.BENCH_ONLY === 'throughput') {
    const core = await FakeCore.start({ heartbeatIntervalMs: 30_000 });
    const r = await startRunner(core, 10);
    console.log(await throughput(r, 500, 10));
    await r.stop();
    await core.stop();
    return [];
  }
  const core = await FakeCore.start({ heartbeatIntervalMs: 30_000 });
  const rows: Row[] = [];
  try {
    const idle = await startRunner(core, 10);
    await sleep(3000);
    const idleRss = rssKb(idle.child.pid!) / 1024;
    await pickupLatency(idle, 30); // warm-up: the first tasks run cold (unoptimised) code
    const spaced = await pickupLatency(idle, 200, 20);
    rows.push({
      figure: 'task_assign→task_ack, 200 tasks, 10–30 ms apart',
      result: `p50 ${percentile(spaced, 50).toFixed(2)} ms, p99 ${percentile(spaced, 99).toFixed(2)} ms`,
      target: 'p99 ≤ 1.5 ms',
    });
    const pickup = await pickupLatency(idle, 200);
    rows.push({
      figure: 'task_assign→task_ack, 200 tasks, back to back',
      result: `p50 ${percentile(pickup, 50).toFixed(2)} ms, p99 ${percentile(pickup, 99).toFixed(2)} ms`,
      target: 'p99 ≤ 1.5 ms',
    });
    const spawnMs = await spawnLatency(idle, 50);
    rows.push({
      figure: 'task_assign→agent running, 50 tasks',
      result: `p50 ${percentile(spawnMs, 50).toFixed(2)} ms, p99 ${percentile(spawnMs, 99).toFixed(2)} ms`,
      target: 'p50 ≤ 1.5 ms',
    });
    const floor = await spawnFloor(200);
    rows.push({
      figure: 'floor: spawn /bin/true from Node (blocks the loop)',
      result: `p50 ${percentile(floor, 50).toFixed(2)} ms ⇒ at most ~${Math.round(1000 / percentile(floor, 50))} tasks/s per runner`,
      target: '',
    });
    const tp = await throughput(idle, 500, 10);
    rows.push({
      figure: '500 /bin/true tasks, concurrency 10',
      result: `${Math.round(tp.perSec)} tasks/s, ${tp.lost} lost`,
      target: '≥ 1,000 tasks/s, 0 lost',
    });
    rows.push({
      figure: 'delivery confirmation, same 500 tasks',
      result: `${tp.checksPerResult.toFixed(2)} checks (${'{"type":"runner_delivery_check:NNN"}'.length} B each way) per result; check reaches the core p50 ${percentile(tp.checkLagMs, 50).toFixed(2)} ms, p99 ${percentile(tp.checkLagMs, 99).toFixed(2)} ms after the result`,
      target: '≤ 1 check per result',
    });
    const big = await bigOutput(idle);
    rows.push({
      figure: 'one agent printing 50 MB',
      result: `RSS +${big.growthMb.toFixed(1)} MB; ${big.updates} activity updates in ${big.seconds.toFixed(1)} s, min gap ${big.minGapMs.toFixed(0)} ms`,
      target: '≤ 16 MB, ≤ 1/s',
    });
    rows.push({ figure: 'idle sibyl-runner run', result: `RSS ${idleRss.toFixed(1)} MB`, target: '≤ 60 MB' });
    const dead = await deadLink(core, idle);
    rows.push({ figure: 'dead link noticed, new connection made', result: `${dead.toFixed(1)} s`, target: '≤ 35 s' });
    await idle.stop();
  } finally {
    await core.stop();
  }
  printTable('sibyl-runner run (real process, loopback)', rows);
  return rows;
}

if (import.meta.main) await run();
