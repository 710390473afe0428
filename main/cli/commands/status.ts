import { Snapshot } from '../../runner/control/contract.ts';
import { controlRequest, controlSocketPath } from '../../runner/control/controlSocket.ts';
import { parse, println, type Io } from '../args.ts';
import { commandContext } from '../context.ts';
import { HELP } from '../help.ts';

function ago(ms: number): string {
  const s = Math.max(0, Math.round(ms / 1000));
  if (s < 120) return `${s}s`;
  if (s < 7200) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`;
  return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`;
}

/** Config plus, while a daemon serves the control socket, its live state. */
export async function statusCommand(argv: string[], io: Io): Promise<number> {
  const { values } = parse('status', argv, { config: { type: 'string', short: 'c' }, json: { type: 'boolean' } });
  if (values.help) return (println(io.stdout, HELP.status), 0);
  const ctx = commandContext(values.config !== undefined ? { config: values.config } : {}, io);
  const { config } = ctx;
  const registered = Boolean(config.runner_id);
  const reply = await controlRequest(controlSocketPath(ctx.path), { method: 'snapshot' });
  const live = reply?.ok ? Snapshot.safeParse(reply.result) : undefined;
  const snapshot = live?.success ? live.data : undefined;
  if (values.json) {
    println(
      io.stdout,
      JSON.stringify(
        {
          registered,
          config_path: ctx.path,
          credentials: ctx.credentials.describe(),
          runner: {
            id: config.runner_id,
            graph_runner_id: config.graph_runner_id,
            name: config.name,
            server_url: config.server_url,
            max_concurrent_agents: config.max_concurrent_agents,
            capabilities: config.capabilities,
            sandbox_mode: config.sandbox_mode,
            worktree_base: config.worktree_base,
            log_dir: config.log_dir,
          },
          daemon: snapshot ?? null,
        },
        null,
        2,
      ),
    );
    return registered ? 0 : 1;
  }
  if (!registered) {
    println(io.stdout, `Runner not registered (config: ${ctx.path}).`);
    println(io.stdout, 'Run `sibyl-runner register --server URL` first.');
    return 1;
  }
  const rows: [string, string][] = [
    ['Runner', `${config.name || 'unnamed-runner'} (${config.runner_id})`],
    ['Server', config.server_url],
    ['Max agents', String(config.max_concurrent_agents)],
    ['Capabilities', config.capabilities.join(', ') || '(none configured; detected ones are sent at registration)'],
    ['Worktrees', config.worktree_base],
    ['Config', ctx.path],
    ['Credentials', ctx.credentials.describe()],
  ];
  const now = Date.now();
  if (!snapshot) rows.push(['Daemon', 'not running']);
  else {
    const l = snapshot.link;
    const link =
      l.state === 'open'
        ? `connected for ${ago(now - (l.connectedAt ?? now))}`
        : `${l.state.replace('_', ' ')}${l.reason ? ` — ${l.reason}` : ''}${l.nextRetryAt ? ` (retry in ${ago(l.nextRetryAt - now)})` : ''}`;
    rows.push(
      ['Daemon', `running (pid ${snapshot.pid}, up ${ago(now - snapshot.startedAt)})${snapshot.paused ? ', paused' : ''}`],
      ['Link', link],
      ['Status', `${snapshot.status}, ${snapshot.running.length}/${snapshot.runner.maxAgents} agents`],
    );
    if (snapshot.outboxPending) rows.push(['Unsent', `${snapshot.outboxPending} message(s) waiting for the link`]);
  }
  const width = Math.max(...rows.map(([k]) => k.length));
  for (const [k, v] of rows) println(io.stdout, `${k.padEnd(width)}  ${v}`);
  for (const t of snapshot?.running ?? []) {
    println(
      io.stdout,
      `  • ${t.taskId}  ${t.phase}  ${ago(now - (t.startedAt ?? t.assignedAt))}  ${t.prompt.split('\n')[0]?.slice(0, 60) ?? ''}`,
    );
  }
  return 0;
}
