import * as z from 'zod';
import type { RunnerConfig } from '../runner/config/schema.ts';
import type { Snapshot } from '../runner/control/contract.ts';
import { REMEDIES } from '../runner/errors.ts';
import type { LinkDescription, LinkKind } from '../runner/vocabulary.ts';

/**
 * `sibyl-runner status --json`: an interface for scripts, documented in the command's help. One
 * style throughout: camelCase keys, times as ISO-8601 UTC strings, a value the runner does not
 * have as null (never left out). The daemon's snapshot (control/contract.ts) carries epoch
 * milliseconds and optional keys; this is its stable outside form.
 */

/** Every LinkKind, so the enum below cannot miss one (a missing key fails to compile). */
const LINK_KINDS: { [K in LinkKind]: K } = {
  needsAttention: 'needsAttention',
  unregistered: 'unregistered',
  credentialsUnreadable: 'credentialsUnreadable',
  signedOut: 'signedOut',
  notRunning: 'notRunning',
  connecting: 'connecting',
  reconnecting: 'reconnecting',
  unreachable: 'unreachable',
  connected: 'connected',
  paused: 'paused',
  stopped: 'stopped',
};

const Time = z.iso.datetime();

/**
 * What the server sees: `online`, `busy` or `draining` only while the link is open; without the
 * link the runner receives nothing, so it is `connecting`, `reconnecting`, `signedOut` or
 * `stopped`, never "online".
 */
export const DaemonStatus = z.enum(['online', 'busy', 'draining', 'connecting', 'reconnecting', 'signedOut', 'stopped']);
export type DaemonStatus = z.infer<typeof DaemonStatus>;

const StepJson = z.strictObject({
  id: z.string(),
  title: z.string(),
  tool: z.string().nullable(),
  state: z.enum(['running', 'ok', 'error']),
  startedAt: Time,
  endedAt: Time.nullable(),
});

const RunningTaskJson = z.strictObject({
  taskId: z.string(),
  agentId: z.string(),
  projectId: z.string(),
  prompt: z.string(),
  phase: z.enum(['preparing', 'running', 'finishing']),
  assignedAt: Time,
  startedAt: Time.nullable(),
  pid: z.number().int().nullable(),
  worktreePath: z.string().nullable(),
  branch: z.string().nullable(),
  agent: z.string().nullable(),
  activity: z.string().nullable(),
  logPath: z.string().nullable(),
  steps: z.array(StepJson),
});

const DaemonJson = z.strictObject({
  pid: z.number().int(),
  startedAt: Time,
  status: DaemonStatus,
  paused: z.boolean(),
  outboxPending: z.number().int(),
  runner: z.strictObject({
    id: z.string(),
    name: z.string(),
    serverUrl: z.string(),
    maxAgents: z.number().int(),
    sandboxMode: z.boolean(),
  }),
  link: z.strictObject({
    state: z.enum(['idle', 'connecting', 'open', 'waiting', 'auth_failed', 'stopped']),
    since: Time,
    reason: z.string().nullable(),
    remedy: z.enum(REMEDIES).nullable(),
    attempts: z.number().int(),
    nextRetryAt: Time.nullable(),
    connectedAt: Time.nullable(),
    lastHeartbeatAt: Time.nullable(),
  }),
  running: z.array(RunningTaskJson),
});

export const StatusJson = z.strictObject({
  registered: z.boolean(),
  /** the state in one word, the same for every face (vocabulary.ts LinkKind) */
  state: z.enum(LINK_KINDS),
  /** the state in a few words: "Reconnecting", "Can't reach the server" */
  label: z.string(),
  /** what happened and what happens next, as sentences; '' when all is well */
  reason: z.string(),
  configPath: z.string(),
  /** where the credentials are kept, in words */
  credentials: z.string(),
  runner: z.strictObject({
    id: z.string().nullable(),
    graphRunnerId: z.string().nullable(),
    name: z.string().nullable(),
    serverUrl: z.string().nullable(),
    maxAgents: z.number().int(),
    capabilities: z.array(z.string()),
    sandboxMode: z.boolean(),
    worktreeBase: z.string(),
    logDir: z.string(),
  }),
  /** null while no daemon serves this configuration's control socket */
  daemon: DaemonJson.nullable(),
});
export type StatusJson = z.infer<typeof StatusJson>;

/** The link's state as the server sees the runner (see DaemonStatus). */
export function daemonStatus(s: Pick<Snapshot, 'status' | 'link'>): DaemonStatus {
  switch (s.link.state) {
    case 'open':
      return s.status;
    case 'idle':
    case 'connecting':
      return 'connecting';
    case 'waiting':
      return 'reconnecting';
    case 'auth_failed':
      return 'signedOut';
    case 'stopped':
      return 'stopped';
  }
}

const iso = (ms: number): string => new Date(ms).toISOString();
const isoOrNull = (ms: number | undefined): string | null => (ms === undefined ? null : iso(ms));

/**
 * The JSON `status --json` prints, checked against its schema (a mistake here fails the command
 * rather than changing the interface). `snapshot` is the daemon's state with its server URL
 * already redacted; `serverUrl` likewise.
 */
export function statusJson(input: {
  config: RunnerConfig;
  serverUrl: string;
  configPath: string;
  credentials: string;
  link: LinkDescription;
  snapshot: Snapshot | undefined;
}): StatusJson {
  const { config, snapshot: s } = input;
  const orNull = (v: string): string | null => v || null;
  return StatusJson.parse({
    registered: Boolean(config.runner_id),
    state: input.link.kind,
    label: input.link.label,
    reason: input.link.reason,
    configPath: input.configPath,
    credentials: input.credentials,
    runner: {
      id: orNull(config.runner_id),
      graphRunnerId: orNull(config.graph_runner_id),
      name: orNull(config.name),
      serverUrl: orNull(input.serverUrl),
      maxAgents: config.max_concurrent_agents,
      capabilities: config.capabilities,
      sandboxMode: config.sandbox_mode,
      worktreeBase: config.worktree_base,
      logDir: config.log_dir,
    },
    daemon: s
      ? {
          pid: s.pid,
          startedAt: iso(s.startedAt),
          status: daemonStatus(s),
          paused: s.paused,
          outboxPending: s.outboxPending,
          runner: s.runner,
          link: {
            state: s.link.state,
            since: iso(s.link.since),
            reason: s.link.reason ?? null,
            remedy: s.link.remedy ?? null,
            attempts: s.link.attempts,
            nextRetryAt: isoOrNull(s.link.nextRetryAt),
            connectedAt: isoOrNull(s.link.connectedAt),
            lastHeartbeatAt: isoOrNull(s.link.lastHeartbeatAt),
          },
          running: s.running.map((t) => ({
            taskId: t.taskId,
            agentId: t.agentId,
            projectId: t.projectId,
            prompt: t.prompt,
            phase: t.phase,
            assignedAt: iso(t.assignedAt),
            startedAt: isoOrNull(t.startedAt),
            pid: t.pid ?? null,
            worktreePath: t.worktreePath ?? null,
            branch: t.branch ?? null,
            agent: t.agent ?? null,
            activity: t.activity ?? null,
            logPath: t.logPath ?? null,
            steps: (t.steps ?? []).map((step) => ({
              id: step.id,
              title: step.title,
              tool: step.tool ?? null,
              state: step.state,
              startedAt: iso(step.startedAt),
              endedAt: isoOrNull(step.endedAt),
            })),
          })),
        }
      : null,
  });
}
