import { homedir } from 'node:os';
import { isAbsolute, join, resolve } from 'node:path';
import { AGENT_NAMES, AgentName } from '../agents/agentSettings.ts';
import { serverUrlProblem } from '../api/sibylApi.ts';
import { ConfigError } from '../errors.ts';
import {
  METRICS_ALLOW_REMOTE_ENV,
  METRICS_ALLOW_REMOTE_KEY,
  METRICS_LISTEN_ENV,
  METRICS_LISTEN_KEY,
  parseListenAddress,
} from '../metrics/listenAddress.ts';
import { RunnerConfigFile } from './configFile.ts';
import { PARENT_CREDENTIALS_ENV } from './parentCredentials.ts';
import { ALLOW_INSECURE_HTTP_ENV, insecureHttpError } from './serverUrl.ts';
import { defaultConfig, defaultConfigPath, type ConfigFile, type RunnerConfig } from './schema.ts';

export type Env = Record<string, string | undefined>;

/** Command-line values; only those given override (flag > env > file > default, §5.3). */
export interface ConfigFlags {
  config?: string;
  server?: string;
  name?: string;
  maxAgents?: number;
  runnerId?: string;
  sandboxMode?: boolean;
  /** `run --agent NAME`: the agent preset for tasks without a command */
  agent?: AgentName;
  /** `run --metrics-listen HOST:PORT` */
  metricsListen?: string;
}

export interface LoadedConfig {
  config: RunnerConfig;
  path: string;
  file: RunnerConfigFile;
  exists: boolean;
}

/**
 * Every environment variable the runner reads as its own configuration (§5.3 and ours). They
 * configure the runner, not its agents, and some point at its credentials (SIBYL_CONFIG_FILE,
 * SIBYL_CONFIG_DIR: credentials.json sits beside runner.yaml), so agentEnv.ts keeps them all from
 * the agent. A test checks that every `SIBYL_*` this file reads is listed.
 */
export const RUNNER_ENV_VARS: readonly string[] = [
  'SIBYL_CONFIG_FILE',
  'SIBYL_CONFIG_DIR',
  'SIBYL_SERVER_URL',
  'SIBYL_RUNNER_ID',
  'SIBYL_GRAPH_RUNNER_ID',
  'SIBYL_RUNNER_NAME',
  'SIBYL_RUNNER_TOKEN',
  'SIBYL_ACCESS_TOKEN',
  'SIBYL_SANDBOX_ID',
  'SIBYL_MAX_AGENTS',
  'SIBYL_SANDBOX_MODE',
  'SIBYL_RUNNER_MODE',
  'SIBYL_SANDBOX_WORKTREE_BASE',
  'SIBYL_WORKTREE_BASE',
  'SIBYL_LOG_DIR',
  'SIBYL_RUNNER_EXEC_CMD',
  'SIBYL_AGENT',
  'SIBYL_EXECUTION_TIMEOUT',
  ALLOW_INSECURE_HTTP_ENV,
  METRICS_LISTEN_ENV,
  METRICS_ALLOW_REMOTE_ENV,
  // set by the desktop app for its own core only; an agent's nested runner must read its own credentials
  PARENT_CREDENTIALS_ENV,
];

/** `--config`, else SIBYL_CONFIG_FILE, else $SIBYL_CONFIG_DIR/runner.yaml, else ~/.config/sibyl/runner.yaml. */
export function locateConfig(flag: string | undefined, env: Env, home = homedir()): string {
  const pick = flag || env.SIBYL_CONFIG_FILE || (env.SIBYL_CONFIG_DIR ? join(env.SIBYL_CONFIG_DIR, 'runner.yaml') : '');
  return resolve(expandHome(pick || defaultConfigPath(home), home));
}

export function expandHome(p: string, home = homedir()): string {
  if (p === '~') return home;
  if (p.startsWith('~/')) return join(home, p.slice(2));
  return p;
}

/** Where a value came from, so an error blames the right place: runner.yaml, an environment variable or a flag. */
type Source = { file: string } | { env: string } | { flag: string };

/**
 * A bad value, named by its source. One from the file carries the file in its context, so each
 * face adds where to fix it (the CLI: "edit <file>"; the window: its Details).
 */
function invalid(source: Source, key: string, problem: string): ConfigError {
  if ('file' in source) return new ConfigError(`key "${key}": ${problem}`, { context: { file: source.file, key } });
  if ('env' in source) return new ConfigError(`environment variable ${source.env}: ${problem}`, { context: { key } });
  return new ConfigError(`${source.flag}: ${problem}`, { context: { key } });
}

function absolutePath(value: string, key: string, source: Source, home: string): string {
  const expanded = expandHome(value, home);
  if (!isAbsolute(expanded))
    throw invalid(source, key, `expected an absolute path (or one starting with ~/), got ${JSON.stringify(value)}`);
  return resolve(expanded);
}

function nonEmpty(v: string | undefined): string | undefined {
  return v !== undefined && v !== '' ? v : undefined;
}

function parseBoolWord(v: string | undefined): boolean | undefined {
  const w = v?.trim().toLowerCase();
  if (w && ['1', 'true', 'yes', 'on'].includes(w)) return true;
  if (w && ['0', 'false', 'no', 'off'].includes(w)) return false;
  return undefined;
}

/** A yes/no variable where a typo must not silently mean "no" (unlike SIBYL_SANDBOX_MODE, whose odd values the original ignores). */
function strictBool(env: Env, name: string, key: string): boolean | undefined {
  const raw = nonEmpty(env[name]);
  if (!raw) return undefined;
  const value = parseBoolWord(raw);
  if (value === undefined)
    throw new ConfigError(`environment variable ${name}=${JSON.stringify(raw)}: expected true or false`, { context: { key } });
  return value;
}

function positiveNumber(raw: string, name: string, integer: boolean): number {
  const n = Number(raw.trim());
  if (!Number.isFinite(n) || n <= 0 || (integer && !Number.isInteger(n))) {
    throw new ConfigError(`environment variable ${name}=${JSON.stringify(raw)}: expected a positive ${integer ? 'integer' : 'number'}`);
  }
  return n;
}

/** Environment overrides with the original's names and rules (§5.3). */
function applyEnv(cfg: RunnerConfig, file: ConfigFile, env: Env, home: string): void {
  const set = <K extends keyof RunnerConfig>(key: K, v: RunnerConfig[K] | undefined): void => {
    if (v !== undefined) cfg[key] = v;
  };
  set('server_url', nonEmpty(env.SIBYL_SERVER_URL));
  set('runner_id', nonEmpty(env.SIBYL_RUNNER_ID));
  set('graph_runner_id', nonEmpty(env.SIBYL_GRAPH_RUNNER_ID));
  set('name', nonEmpty(env.SIBYL_RUNNER_NAME));
  set('runner_token', nonEmpty(env.SIBYL_RUNNER_TOKEN));
  set('access_token', nonEmpty(env.SIBYL_ACCESS_TOKEN));
  set('sandbox_id', nonEmpty(env.SIBYL_SANDBOX_ID));
  const maxAgents = nonEmpty(env.SIBYL_MAX_AGENTS);
  if (maxAgents) {
    const n = positiveNumber(maxAgents, 'SIBYL_MAX_AGENTS', true);
    if (n > 20) throw new ConfigError(`environment variable SIBYL_MAX_AGENTS=${maxAgents}: expected 1–20`);
    cfg.max_concurrent_agents = n;
  }
  let sandbox = parseBoolWord(env.SIBYL_SANDBOX_MODE);
  if (sandbox === undefined) {
    const mode = env.SIBYL_RUNNER_MODE?.trim().toLowerCase();
    if (mode === 'sandbox') sandbox = true;
    else if (mode === 'registered' || mode === 'default') sandbox = false;
  }
  if (sandbox === undefined && (nonEmpty(env.SIBYL_SANDBOX_ID) || nonEmpty(env.SIBYL_RUNNER_TOKEN))) sandbox = true;
  set('sandbox_mode', sandbox);
  const wtVar = nonEmpty(env.SIBYL_SANDBOX_WORKTREE_BASE) ? 'SIBYL_SANDBOX_WORKTREE_BASE' : 'SIBYL_WORKTREE_BASE';
  const wt = nonEmpty(env[wtVar]);
  if (wt) cfg.worktree_base = absolutePath(wt, 'worktree_base', { env: wtVar }, home);
  const logDir = nonEmpty(env.SIBYL_LOG_DIR);
  if (logDir) cfg.log_dir = absolutePath(logDir, 'log_dir', { env: 'SIBYL_LOG_DIR' }, home);
  set('exec_command', nonEmpty(env.SIBYL_RUNNER_EXEC_CMD));
  const agent = nonEmpty(env.SIBYL_AGENT);
  if (agent) {
    const parsed = AgentName.safeParse(agent.trim());
    if (!parsed.success) throw new ConfigError(`environment variable SIBYL_AGENT=${agent}: expected one of ${AGENT_NAMES.join(', ')}`);
    cfg.agent = parsed.data;
  }
  const timeout = nonEmpty(env.SIBYL_EXECUTION_TIMEOUT);
  if (timeout) cfg.execution_timeout = positiveNumber(timeout, 'SIBYL_EXECUTION_TIMEOUT', false);
  set('allow_insecure_http', strictBool(env, ALLOW_INSECURE_HTTP_ENV, 'allow_insecure_http'));
  // Set but empty turns it off: a container image can default it and a deployment can unset it.
  if (env[METRICS_LISTEN_ENV] !== undefined) cfg.metrics_listen = env[METRICS_LISTEN_ENV].trim();
  set('metrics_allow_remote', strictBool(env, METRICS_ALLOW_REMOTE_ENV, METRICS_ALLOW_REMOTE_KEY));
  // Sandbox worktree default, decided before flags exactly as the original (§5.3).
  const worktreeExplicit = file.worktree_base !== undefined || 'SIBYL_SANDBOX_WORKTREE_BASE' in env || 'SIBYL_WORKTREE_BASE' in env;
  if (cfg.sandbox_mode && !worktreeExplicit) {
    cfg.worktree_base = `/tmp/sibyl/sandboxes/${cfg.sandbox_id || cfg.runner_id || 'default'}/worktrees`;
  }
}

const PATH_KEYS = ['worktree_base', 'log_dir', 'state_dir', 'repo_cache_dir'] as const;

/** `where` is the runner.yaml `file` came from: errors about its values name it, and it picks the default state_dir. */
/**
 * The effective configuration: defaults < `file` < `env` < `flags`. Raises ConfigError naming the
 * source of a bad value, and InsecureHttpError for a plain-HTTP server on another machine unless
 * `transport` is `'unchecked'` — for commands that never send the token (status, history, logs,
 * projects), or check the address they will really use themselves (register and login: `--server`).
 */
export function resolveConfig(
  file: ConfigFile,
  where: string,
  env: Env,
  flags: ConfigFlags,
  home = homedir(),
  transport: 'checked' | 'unchecked' = 'checked',
): RunnerConfig {
  // The state folder defaults per configuration file: two configurations never share a journal.
  const cfg = defaultConfig(home, resolve(where));
  for (const [key, value] of Object.entries(file)) {
    if (key in cfg && value !== undefined) (cfg as unknown as Record<string, unknown>)[key] = value;
  }
  for (const key of PATH_KEYS) {
    if (file[key] !== undefined) cfg[key] = absolutePath(file[key], key, { file: where }, home);
  }
  applyEnv(cfg, file, env, home);
  if (flags.server !== undefined) cfg.server_url = flags.server;
  if (flags.name !== undefined) cfg.name = flags.name;
  if (flags.maxAgents !== undefined && flags.maxAgents > 0) cfg.max_concurrent_agents = flags.maxAgents;
  if (flags.runnerId !== undefined) cfg.runner_id = flags.runnerId;
  if (flags.sandboxMode !== undefined) cfg.sandbox_mode = flags.sandboxMode;
  if (flags.agent !== undefined) cfg.agent = flags.agent;
  if (flags.metricsListen !== undefined) cfg.metrics_listen = flags.metricsListen.trim();
  checkMetricsListen(
    cfg,
    flags.metricsListen !== undefined
      ? { flag: '--metrics-listen' }
      : env[METRICS_LISTEN_ENV] !== undefined
        ? { env: METRICS_LISTEN_ENV }
        : { file: where },
  );
  cfg.server_url = cfg.server_url.trim().replace(/\/+$/, '');
  if (!cfg.server_url) return cfg;
  const source: Source =
    flags.server !== undefined ? { flag: '--server' } : nonEmpty(env.SIBYL_SERVER_URL) ? { env: 'SIBYL_SERVER_URL' } : { file: where };
  const problem = serverUrlProblem(cfg.server_url);
  if (problem) throw invalid(source, 'server_url', problem);
  if (transport === 'unchecked') return cfg;
  // Refused here, before anything reads credentials or dials: the token must not travel in clear.
  const label = 'file' in source ? 'key "server_url"' : 'env' in source ? `environment variable ${source.env}` : source.flag;
  const insecure = insecureHttpError(cfg.server_url, cfg.allow_insecure_http, { label, file: where });
  if (insecure) throw insecure;
  return cfg;
}

/**
 * The metrics endpoint serves the runner's state without authentication, so by default only this
 * machine may reach it: another address needs metrics_allow_remote (a container's probes and a
 * Prometheus in the cluster connect from outside the runner's own network namespace).
 */
function checkMetricsListen(cfg: RunnerConfig, source: Source): void {
  if (!cfg.metrics_listen) return;
  const address = parseListenAddress(cfg.metrics_listen);
  if (typeof address === 'string') throw invalid(source, METRICS_LISTEN_KEY, address);
  if (address.loopback || cfg.metrics_allow_remote) return;
  throw invalid(
    source,
    METRICS_LISTEN_KEY,
    `${cfg.metrics_listen} can be reached from other machines and the endpoint has no authentication; ` +
      `set ${METRICS_ALLOW_REMOTE_KEY}: true (or ${METRICS_ALLOW_REMOTE_ENV}=true) to allow it, or listen on 127.0.0.1`,
  );
}

export function loadConfig(
  opts: { flags?: ConfigFlags; env?: Env; home?: string; transport?: 'checked' | 'unchecked' } = {},
): LoadedConfig {
  const env = opts.env ?? process.env;
  const home = opts.home ?? homedir();
  const flags = opts.flags ?? {};
  const path = locateConfig(flags.config, env, home);
  const file = new RunnerConfigFile(path);
  const raw = file.raw();
  const values = file.read();
  return { config: resolveConfig(values, path, env, flags, home, opts.transport), path, file, exists: Object.keys(raw).length > 0 };
}
