import { existsSync } from 'node:fs';
import { hostname } from 'node:os';
import { Snapshot } from '../../runner/control/contract.ts';
import { controlRequest, controlSocketPath } from '../../runner/control/controlSocket.ts';
import { redactUrl, redactUrlsIn } from '../../runner/redact.ts';
import { jsonSafe } from '../../runner/terminalText.ts';
import { parse, println, printlnRaw, type Io } from '../args.ts';
import { commandContext, type CommandContext } from '../context.ts';
import { HELP } from '../help.ts';
import { linkNextStep } from '../linkNextStep.ts';
import { tokenSource } from '../tokenSource.ts';
import { duration, linkDescription, promptSummary, shortId, taskPhaseLabel, type LinkDescription } from '../../runner/vocabulary.ts';
import { daemonStatus, statusJson, type DaemonStatus } from '../statusReport.ts';

/**
 * Config plus, while a daemon serves the control socket, its live state. A password in
 * `server_url` is shown as `***` (text and --json); prompts and the server's reasons are printed
 * with their control characters made visible (terminalText.ts), --json with them escaped. The
 * JSON is statusReport.ts's, an interface documented in the help.
 */
export async function statusCommand(argv: string[], io: Io): Promise<number> {
  const { values } = parse('status', argv, { config: { type: 'string', short: 'c' }, json: { type: 'boolean' } });
  if (values.help) return (println(io.stdout, HELP.status), 0);
  const ctx = commandContext(values.config !== undefined ? { config: values.config } : {}, io);
  const { config } = ctx;
  const registered = Boolean(config.runner_id);
  const reply = await controlRequest(controlSocketPath(ctx.path), { method: 'snapshot' });
  const live = reply?.ok ? Snapshot.safeParse(reply.result) : undefined;
  const snapshot = live?.success ? shown(live.data) : undefined;
  const now = Date.now();
  // The CLI does not track a sign-in (credentials may come from the environment): a refused one
  // shows in the daemon's link state.
  const link = linkDescription({ registered, signedIn: true, attached: false, daemon: snapshot ?? null }, now);
  if (values.json) {
    const report = statusJson({
      config,
      serverUrl: redactUrl(config.server_url),
      configPath: ctx.path,
      credentials: credentialsInWords(ctx, io),
      link,
      snapshot,
    });
    // jsonSafe already made it inert: println would scan it again.
    printlnRaw(io.stdout, jsonSafe(JSON.stringify(report, null, 2)));
    return registered ? 0 : 1;
  }
  const hint = linkNextStep(link.remedy, ctx, io);
  const rows: [string, string][] = [];
  if (!registered) {
    rows.push(['Status', linkLine(link)], ['Config', ctx.path]);
    if (hint) rows.push(['Next', hint]);
    printRows(io, rows);
    return 1;
  }
  rows.push(
    // Without a name in runner.yaml the runner goes by the machine's, as register and run say.
    ['Runner', `${config.name || hostname()} (${config.runner_id})`],
    ['Server', redactUrl(config.server_url)],
    ['Max agents', String(config.max_concurrent_agents)],
    ['Capabilities', config.capabilities.join(', ') || '(none configured; detected ones are sent at registration)'],
    ['Worktrees', config.worktree_base],
    ['Config', ctx.path],
    ['Credentials', credentialsInWords(ctx, io)],
  );
  if (!snapshot) rows.push(['Daemon', link.label]);
  else {
    const connectedFor = link.kind === 'connected' ? ` for ${duration((now - (snapshot.link.connectedAt ?? now)) / 1000)}` : '';
    rows.push(
      ['Daemon', `running (pid ${snapshot.pid}, up ${duration((now - snapshot.startedAt) / 1000)})${snapshot.paused ? ', paused' : ''}`],
      ['Link', `${linkLine(link)}${connectedFor}`],
    );
    if (hint) rows.push(['Next', hint]);
    // Online or busy is the server's view of a connected runner; without the link it gets nothing.
    const agents = `${snapshot.running.length}/${snapshot.runner.maxAgents} agents`;
    const word = STATUS_WORDS[daemonStatus(snapshot)];
    if (snapshot.link.state === 'open') rows.push(['Status', `${word}, ${agents}`]);
    else rows.push(['Status', `${word}, not receiving tasks${snapshot.running.length ? ` (${agents} still running)` : ''}`]);
    if (snapshot.outboxPending) rows.push(['Unsent', `${snapshot.outboxPending} message(s) waiting for the link`]);
  }
  printRows(io, rows);
  for (const t of snapshot?.running ?? []) {
    const elapsed = duration((now - (t.startedAt ?? t.assignedAt)) / 1000);
    println(io.stdout, `  • ${shortId(t.taskId)}  ${taskPhaseLabel(t.phase)}  ${elapsed}  ${promptSummary(t.prompt, 60)}`);
  }
  return 0;
}

/** The Status row's first words: what the server sees of this runner. */
const STATUS_WORDS: Record<DaemonStatus, string> = {
  online: 'online',
  busy: 'busy',
  draining: 'draining',
  connecting: 'connecting',
  reconnecting: 'reconnecting',
  signedOut: 'signed out',
  stopped: 'stopped',
};

/** The shared label, then why (vocabulary.ts): "Can't reach the server — The server refused…". */
function linkLine(link: LinkDescription): string {
  return link.reason ? `${link.label} — ${link.reason}` : link.label;
}

/** Values quote the server and the configuration: printed with their control characters made visible. */
function printRows(io: Io, rows: [string, string][]): void {
  const width = Math.max(...rows.map(([k]) => k.length));
  for (const [k, v] of rows) println(io.stdout, `${k.padEnd(width)}  ${v}`);
}

/**
 * The daemon's state as shown: without the password of its server URL, also where a reason quotes
 * it. The daemon redacts these itself; a daemon of an older version may not.
 */
function shown(s: Snapshot): Snapshot {
  return {
    ...s,
    runner: { ...s.runner, serverUrl: redactUrl(s.runner.serverUrl) },
    link: s.link.reason === undefined ? s.link : { ...s.link, reason: redactUrlsIn(s.link.reason) },
  };
}

/**
 * Which credentials the runner uses, in words: a token from the environment or runner.yaml (used
 * before the stored login), else the stored login's file, else none.
 */
function credentialsInWords(ctx: CommandContext, io: Io): string {
  const source = tokenSource(ctx, io);
  if (source?.from === 'env') return `${source.name} from the environment (used instead of a stored login)`;
  if (source?.from === 'config') return `${source.key} in ${ctx.path} (used instead of a stored login)`;
  return existsSync(ctx.credentials.path) ? ctx.credentials.describe() : 'none stored (sign in with `sibyl-runner login`)';
}
