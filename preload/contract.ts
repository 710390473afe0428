import * as z from 'zod';
import { ConfigFileSchema, type ConfigFile } from '../main/runner/config/schema.ts';
import { Snapshot, StepState } from '../main/runner/control/contract.ts';
import { REMEDIES } from '../main/runner/errors.ts';
import {
  ActivityDay as ActivityDaySchema,
  CountedHistoryPage,
  DailyTotal as DailyTotalSchema,
  DailyTotalsQuery,
  HistoryItem,
  HistoryQuery as HistoryQuerySchema,
  HistoryRecord,
  HistoryStatus,
  LogLine as LogLineSchema,
} from '../main/runner/history/schema.ts';

/**
 * The one contract between the renderer and main: every request channel (`invoke`) with its
 * input and output schema, and every pushed event with its payload schema. Main parses every
 * input with these; the preload exposes exactly these; the renderer imports the types only.
 * Plain zod, no electron: the browser tests drive the same contract through Playwright bindings.
 */

/** Task rows and details are the history store's own schemas (one schema per message). */
export const TaskStatus = HistoryStatus;
export type TaskStatus = z.infer<typeof TaskStatus>;
export const TaskRow = HistoryItem;
export type TaskRow = z.infer<typeof TaskRow>;
export const TaskDetail = HistoryRecord;
export type TaskDetail = z.infer<typeof TaskDetail>;

export const HistoryQuery = HistoryQuerySchema;
export type HistoryQuery = z.input<typeof HistoryQuery>;

export const HistoryPage = CountedHistoryPage;
export type HistoryPage = z.infer<typeof HistoryPage>;

export const DailyTotal = DailyTotalSchema;
export type DailyTotal = z.infer<typeof DailyTotal>;

export const ActivityDay = ActivityDaySchema;
export type ActivityDay = z.infer<typeof ActivityDay>;

export const LogLine = LogLineSchema;
export type LogLine = z.infer<typeof LogLine>;

export const ServerCheck = z.object({
  ok: z.boolean(),
  /** ok | invalid (not a URL) | insecure_http (plain http:// to another machine, not allowed) | unreachable | tls | not_sibyl */
  kind: z.enum(['ok', 'invalid', 'insecure_http', 'unreachable', 'tls', 'not_sibyl']),
  message: z.string(),
  serverUrl: z.string().optional(),
  version: z.string().optional(),
});
export type ServerCheck = z.infer<typeof ServerCheck>;

export const DeviceCode = z.object({
  userCode: z.string(),
  verificationUri: z.string(),
  verificationUriComplete: z.string(),
  expiresInS: z.number(),
});
export type DeviceCode = z.infer<typeof DeviceCode>;

/**
 * Who a sign-in is for (`GET /api/auth/me`, §2.8; main/runner/api/account.ts): `label` "Ada
 * (ada@example.com)", the organization's name (null when the token has none) and the role in it.
 */
export const Account = z.object({
  label: z.string(),
  name: z.string().nullable(),
  email: z.string().nullable(),
  organization: z.string().nullable(),
  role: z.enum(['owner', 'admin', 'member', 'viewer']).nullable(),
});
export type Account = z.infer<typeof Account>;

export const DeviceLoginEvent = z.object({
  state: z.enum(['pending', 'approved', 'denied', 'expired', 'error', 'cancelled']),
  message: z.string(),
  /** with `approved`: who signed in (absent when the server could not say) */
  account: Account.optional(),
});
export type DeviceLoginEvent = z.infer<typeof DeviceLoginEvent>;

export const Detected = z.object({
  hostname: z.string(),
  capabilities: z.array(z.string()),
  worktreeBase: z.string(),
  maxAgents: z.number().int(),
});

export const RegisterInput = z.object({
  serverUrl: z.string().min(1).max(2048),
  name: z.string().trim().min(1, 'name is required').max(255),
  maxAgents: z.number().int().min(1).max(20),
  capabilities: z.array(z.string().trim().min(1).max(64)).max(50),
  worktreeBase: z.string().min(1).max(4096),
});
export type RegisterInput = z.infer<typeof RegisterInput>;

/**
 * Window settings kept in runner.yaml: window field → runner.yaml key. Their schemas are the
 * config file's own (main/runner/config/schema.ts), so the window accepts exactly what the file does.
 */
export const FILE_SETTINGS = {
  maxAgents: 'max_concurrent_agents',
  worktreeBase: 'worktree_base',
  historyRetentionDays: 'history_retention_days',
  historyMaxTasks: 'history_max_tasks',
} as const satisfies Record<string, keyof ConfigFile>;
export type FileSettingField = keyof typeof FILE_SETTINGS;

const configKey = <K extends keyof typeof ConfigFileSchema.shape>(key: K) => ConfigFileSchema.shape[key].unwrap();

export const Settings = z.object({
  /** true only when the OS will start the app at login (read back from the OS) */
  startAtLogin: z.boolean(),
  /** what to do when the OS holds the login item back, e.g. macOS 13+ "approve … in System Settings → General → Login Items" */
  startAtLoginHint: z.string().optional(),
  notifications: z.boolean(),
  maxAgents: configKey(FILE_SETTINGS.maxAgents),
  worktreeBase: configKey(FILE_SETTINGS.worktreeBase),
  historyRetentionDays: configKey(FILE_SETTINGS.historyRetentionDays),
  historyMaxTasks: configKey(FILE_SETTINGS.historyMaxTasks),
  /** where secrets live, exactly (store and path, e.g. "encrypted with the OS keychain (libsecret): …/1a2b.enc"): Settings' Details */
  credentialsStorage: z.string(),
  /** the same in words for people ("Stored in the macOS Keychain", "Stored in a private file (no keyring on this system)") */
  credentialsSummary: z.string(),
});
export type Settings = z.infer<typeof Settings>;

export const SettingsPatch = Settings.omit({ credentialsStorage: true, credentialsSummary: true, startAtLoginHint: true }).partial();

/** Settings → About: the version, where the logs are, and a plain-text report to paste into a bug report (no secrets). */
export const About = z.object({
  version: z.string(),
  logsFolder: z.string(),
  /** "Key  value" lines: versions (app, OS, Node, Electron), config and logs paths, server, runner, link state */
  diagnostics: z.string(),
});
export type About = z.infer<typeof About>;

export const ProjectLink = z.object({
  path: z.string(),
  projectId: z.string(),
  source: z.string(),
  ok: z.boolean(),
  problem: z.string().nullable(),
  capabilities: z.array(z.string()),
  remoteUrl: z.string().nullable(),
});
export type ProjectLink = z.infer<typeof ProjectLink>;

/** An error that kept the runner from starting, as the window and the tray show it: what, the fix, where. */
export const StartError = z.object({ code: z.string(), message: z.string(), remedy: z.enum(REMEDIES), detail: z.string().optional() });
export type StartError = z.infer<typeof StartError>;

/**
 * The runner core's process as the app sees it: `starting` (launched, not answering yet),
 * `running`, `restarting` (it exited or the headless runner it was attached to stopped; the next
 * try is at `nextRetryAt`, ms since the epoch; `attempt` counts tries since it last ran a minute),
 * `stopped` (not registered, stopped on purpose, or it could not start: see AppState.startError).
 * `owner`: the app's own core process, or a headless `sibyl-runner run` it attached to.
 */
export const CoreState = z.object({
  state: z.enum(['starting', 'running', 'restarting', 'stopped']),
  owner: z.enum(['app', 'headless']).optional(),
  pid: z.number().int().optional(),
  attempt: z.number().int().min(1).optional(),
  nextRetryAt: z.number().optional(),
  /** how the last core process ended (exit code or signal, ms since the epoch, its last stderr lines) */
  lastExit: z
    .object({ code: z.number().nullable(), signal: z.string().nullable(), at: z.number(), stderr: z.string().optional() })
    .optional(),
});
export type CoreState = z.infer<typeof CoreState>;

/** What the window shows: registration plus the daemon's live state (null before registration). */
export const AppState = z.object({
  version: z.number().int(),
  registered: z.boolean(),
  serverUrl: z.string(),
  runnerName: z.string(),
  runnerId: z.string(),
  /** true when the window shows a headless daemon it attached to */
  attached: z.boolean(),
  /** credentials are stored (a login or a token); false after signing out */
  signedIn: z.boolean(),
  /**
   * why the stored credentials could not be read (a locked or missing OS keyring: code
   * `keyring_unavailable` / `keyring_decrypt_failed`; a damaged file); absent when they were read.
   * Not the same as signed out: the credentials may be there.
   */
  credentialsError: StartError.omit({ detail: true }).optional(),
  /**
   * why the runner is not running as configured: runner.yaml (or a SIBYL_* variable) does not
   * validate (code `config_invalid`, remedy `fixConfig`; `detail` names the file and key), or the
   * runner failed to start (the error's own code and remedy). Absent when it started or was not
   * asked to. While set, the rest of the state shows defaults, not the broken file.
   */
  startError: StartError.optional(),
  /** the core's process: starting, running, restarting after it died, or stopped (the app service always sets it) */
  core: CoreState.optional(),
  daemon: Snapshot.nullable(),
});
export type AppState = z.infer<typeof AppState>;

/**
 * One entry of a task's transcript, replayed from its log through the agent's stream parser: what
 * the agent said (`message`), or one step it took (`step`, with the tool's input and result in
 * `detail`, at most 2 KiB). `at` is the ISO time of the log line that began it.
 */
export const TranscriptEntry = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('message'), at: z.string(), text: z.string() }),
  z.object({
    kind: z.literal('step'),
    at: z.string(),
    title: z.string(),
    tool: z.string().nullable(),
    state: StepState,
    /** null while (or because) the step never finished */
    durationMs: z.number().nullable(),
    detail: z.string().optional(),
  }),
]);
export type TranscriptEntry = z.infer<typeof TranscriptEntry>;

export const Transcript = z.object({
  /** the agent preset that ran the task; null when none is known */
  agent: z.string().nullable(),
  /** oldest first; empty for agents without an event stream (command, aider, …) */
  entries: z.array(TranscriptEntry),
  /** entries left out at the start of a very long run (only the newest are kept) */
  omitted: z.number().int().min(0),
});
export type Transcript = z.infer<typeof Transcript>;

const None = z.object({}).strict();
const Ok = z.object({ ok: z.literal(true) });
const TaskRef = z.object({ taskId: z.string().min(1).max(200) });

/** Request channels: name → input and output schemas. */
export const requests = {
  'app:state': { input: None, output: AppState },
  'runner:pause': { input: None, output: AppState },
  'runner:resume': { input: None, output: AppState },
  'tasks:cancel': { input: TaskRef, output: z.object({ cancelled: z.boolean() }) },
  'tasks:openFolder': { input: TaskRef, output: Ok },
  /** what the agent said and did, from the task's log (see Transcript) */
  'tasks:transcript': { input: TaskRef, output: Transcript },
  'history:page': { input: HistoryQuery, output: HistoryPage },
  'history:get': { input: TaskRef, output: TaskDetail.nullable() },
  /** per local day, oldest first, ending today: finished tasks, cost and tokens (empty before registration) */
  'history:daily': { input: DailyTotalsQuery, output: z.array(DailyTotal) },
  /** the same days by outcome (completed; failed or timed out; cancelled), for the dashboard's activity chart */
  'history:activity': { input: DailyTotalsQuery, output: z.array(ActivityDay) },
  'logs:read': {
    input: TaskRef.extend({ search: z.string().max(200).optional(), tail: z.number().int().min(1).max(100_000).optional() }),
    output: z.object({ lines: z.array(LogLine), truncated: z.boolean() }),
  },
  'wizard:checkServer': { input: z.object({ url: z.string().max(2048) }), output: ServerCheck },
  'wizard:startDeviceLogin': { input: z.object({ serverUrl: z.string().max(2048) }), output: DeviceCode },
  'wizard:cancelDeviceLogin': { input: None, output: Ok },
  'wizard:useToken': {
    input: z.object({ serverUrl: z.string().max(2048), token: z.string().trim().min(10, 'paste the whole token').max(8192) }),
    output: z.object({ user: z.string(), account: Account }),
  },
  'wizard:detect': { input: None, output: Detected },
  /**
   * Registers this machine; when it was registered already, that runner is replaced: on the same
   * server it is deleted there first (`replaced` deleted, or gone when the server no longer had
   * it); on another server it stays listed there (`elsewhere`).
   */
  'wizard:register': {
    input: RegisterInput,
    output: z.object({ runnerId: z.string(), replaced: z.enum(['deleted', 'gone', 'elsewhere']).optional() }),
  },
  'settings:get': { input: None, output: Settings },
  'settings:set': { input: SettingsPatch, output: Settings },
  'settings:about': { input: None, output: About },
  /** opens the runner's logs folder (runner.yaml `log_dir`, created when missing) in the OS file manager */
  'settings:openLogs': { input: None, output: Ok },
  'projects:list': { input: None, output: z.array(ProjectLink) },
  'projects:link': {
    input: z.object({ path: z.string().min(1).max(4096), projectId: z.string().min(1).max(200) }),
    output: z.array(ProjectLink),
  },
  'projects:unlink': { input: z.object({ projectId: z.string().min(1).max(200) }), output: z.array(ProjectLink) },
  'account:signOut': { input: None, output: AppState },
  'runner:unregister': { input: None, output: AppState },
  /** start (or restart) the runner with the stored registration and credentials, e.g. after signing in again */
  'runner:restart': { input: None, output: AppState },
  /** redial the server now instead of waiting for the next retry (the dashboard's "Retry now"); the state push follows */
  'runner:retryNow': { input: None, output: Ok },
  'os:pickFolder': { input: z.object({ defaultPath: z.string().max(4096).optional() }), output: z.object({ path: z.string().nullable() }) },
  'os:openExternal': { input: z.object({ url: z.string().url().max(4096) }), output: Ok },
} as const;

/** Events pushed main → renderer. */
export const events = {
  'app:state': AppState,
  /**
   * A running task's new output lines, in order, batched (~10 a second per task, from the core's
   * subscribe stream); `dropped`: lines main did not get because it fell behind (the log has them).
   */
  'task:lines': z.object({ taskId: z.string(), lines: z.array(LogLine), dropped: z.number().int().min(1).optional() }),
  'wizard:device': DeviceLoginEvent,
  /** main asks the window to show a screen, e.g. a task's detail picked from the tray menu */
  'app:navigate': z.object({ route: z.enum(['wizard', 'dashboard', 'history', 'settings', 'task']), taskId: z.string().optional() }),
} as const;

export type RequestChannel = keyof typeof requests;
export type EventChannel = keyof typeof events;
export type RequestInput<C extends RequestChannel> = z.input<(typeof requests)[C]['input']>;
export type RequestOutput<C extends RequestChannel> = z.output<(typeof requests)[C]['output']>;
export type EventPayload<E extends EventChannel> = z.output<(typeof events)[E]>;

/**
 * An error as the window receives it: a stable `code`, the message in plain words, the `remedy`
 * the window turns into an action ("Sign in again"), and raw `detail` for a "Details" disclosure.
 */
export const IpcError = z.object({
  code: z.string(),
  message: z.string(),
  remedy: z.enum(REMEDIES).optional(),
  detail: z.string().optional(),
});
export type IpcError = z.infer<typeof IpcError>;

/** Errors cross the boundary as data, never as thrown exceptions. */
export type IpcResult<T> = { ok: true; value: T } | { ok: false; error: IpcError };

/** The handlers main (or a test) provides: one function per request channel. */
export type Handlers = { [C in RequestChannel]: (input: z.output<(typeof requests)[C]['input']>) => Promise<RequestOutput<C>> };

/** The shape of `window.sibyl`, derived from the contract (not written twice). */
export interface SibylBridge {
  invoke<C extends RequestChannel>(channel: C, input: RequestInput<C>): Promise<IpcResult<RequestOutput<C>>>;
  on<E extends EventChannel>(event: E, listener: (payload: EventPayload<E>) => void): () => void;
}

export function isRequestChannel(x: unknown): x is RequestChannel {
  return typeof x === 'string' && Object.hasOwn(requests, x);
}

/** Parse a request for `channel`: the one place inputs are validated, in main and in tests alike. */
export function parseInput<C extends RequestChannel>(channel: C, input: unknown): IpcResult<z.output<(typeof requests)[C]['input']>> {
  const parsed = requests[channel].input.safeParse(input ?? {});
  if (parsed.success) return { ok: true, value: parsed.data as z.output<(typeof requests)[C]['input']> };
  const detail = parsed.error.issues.map((i) => `${i.path.join('.') || 'input'}: ${i.message}`).join('; ');
  return { ok: false, error: { code: 'bad_input', message: `${channel}: ${detail}`, remedy: 'checkInput' } };
}
