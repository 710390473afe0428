import { spawn } from 'node:child_process';
import WebSocket from 'ws';

/**
 * The protocol and spawn floor: the least a runner can do, in a bare Node process. It connects
 * like the runner (same URL, bearer token, no compression), answers heartbeats, acks each
 * task_assign at once, spawns `config.command` detached with piped output (as the runner spawns an
 * agent) and reports task_complete with its stdout when it closes. No journal, no history, no
 * workspace, no logs: whatever the real runner takes beyond this is its own overhead.
 *
 * Run bundled (runnerProcess.ts builds it) as `node out/bench/floorClient.mjs <ws url>` with
 * SIBYL_ACCESS_TOKEN set.
 */

interface Assign {
  type: 'task_assign';
  task_id: string;
  agent_id: string;
  config: { command: string[] };
}

const url = process.argv[2];
if (!url) throw new Error('usage: node out/bench/floorClient.mjs <ws url>');
const ws = new WebSocket(url, { headers: { Authorization: `Bearer ${process.env.SIBYL_ACCESS_TOKEN ?? ''}` }, perMessageDeflate: false });

function run(m: Assign): void {
  ws.send(JSON.stringify({ type: 'task_ack', task_id: m.task_id, agent_id: m.agent_id }));
  const [file = '/bin/true', ...args] = m.config.command;
  const t0 = performance.now();
  const child = spawn(file, args, { detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
  const out: Buffer[] = [];
  child.stdout.on('data', (c: Buffer) => out.push(c));
  child.stderr.resume();
  child.on('close', (code) => {
    const ok = code === 0;
    const result = {
      status: ok ? 'completed' : 'failed',
      exit_code: code,
      worktree_path: '',
      stdout: Buffer.concat(out).toString('utf8'),
      stderr: '',
      duration_s: (performance.now() - t0) / 1000,
    };
    ws.send(JSON.stringify({ type: 'task_complete', task_id: m.task_id, success: ok, retryable: false, result }));
  });
}

ws.on('message', (data: Buffer) => {
  const m = JSON.parse(data.toString('utf8')) as { type?: string };
  if (m.type === 'heartbeat') ws.send('{"type":"heartbeat_ack"}');
  else if (m.type === 'task_assign') run(m as Assign);
});
ws.on('close', () => process.exit(0));
ws.on('error', (err) => {
  console.error(`floor client: ${err.message}`);
  process.exit(1);
});
process.on('SIGTERM', () => process.exit(0));
