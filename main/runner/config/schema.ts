import { canonicalPath } from './canonicalPath.ts';
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import * as z from 'zod';
import { AgentName, AgentsConfig } from '../agents/agentSettings.ts';

/**
 * runner.yaml: the original runner's snake_case keys (sibyl-protocol.md §5.2) plus ours.
 * Every key is optional in the file; unknown keys are kept on write and ignored on read
 * (the original aborted on them, R21). Token keys are honoured for compatibility but never written.
 */
const seconds = z.number().positive();
export const ConfigFileSchema = z
  .looseObject({
    server_url: z.string(),
    runner_id: z.string(),
    graph_runner_id: z.string(),
    name: z.string(),
    max_concurrent_agents: z.number().int().min(1).max(20),
    capabilities: z.array(z.string().min(1)),
    access_token: z.string(),
    refresh_token: z.string(),
    runner_token: z.string(),
    sandbox_mode: z.boolean(),
    sandbox_id: z.string(),
    worktree_base: z.string().min(1),
    log_dir: z.string().min(1),
    reconnect_interval: seconds,
    max_reconnect_attempts: z.number().int().min(0),
    heartbeat_interval: seconds,
    // ---- ours ----
    state_dir: z.string().min(1),
    repo_cache_dir: z.string().min(1),
    exec_command: z.string(),
    execution_timeout: seconds,
    keep_failed_worktrees_hours: z.number().min(0),
    worktree_disk_cap_mb: z.number().min(0),
    history_retention_days: z.number().min(0),
    history_max_tasks: z.number().int().min(0),
    task_log_max_mb: z.number().positive(),
    drain_timeout: seconds,
    /** the agent preset for tasks that carry no command (issue 11) */
    agent: AgentName,
    agents: AgentsConfig,
    /** commit what the agent left in the worktree on the task branch */
    auto_commit: z.boolean(),
    /** push the task branch to the linked repository's remote after committing */
    push_branch: z.boolean(),
    /** let plain http:// reach a server that is not this machine (the token then travels in clear; serverUrl.ts) */
    allow_insecure_http: z.boolean(),
    /** HOST:PORT of the Prometheus metrics and health endpoint ('' = off; metrics/listenAddress.ts) */
    metrics_listen: z.string(),
    /** let metrics_listen be an address other machines can reach */
    metrics_allow_remote: z.boolean(),
  })
  .partial();
export type ConfigFile = z.infer<typeof ConfigFileSchema>;

/** The resolved configuration the core runs with (paths absolute, `~` expanded). */
export interface RunnerConfig {
  server_url: string;
  runner_id: string;
  graph_runner_id: string;
  name: string;
  max_concurrent_agents: number;
  capabilities: string[];
  access_token: string;
  refresh_token: string;
  runner_token: string;
  sandbox_mode: boolean;
  sandbox_id: string;
  worktree_base: string;
  log_dir: string;
  /** backoff base in seconds (first retry is at most this, with full jitter) */
  reconnect_interval: number;
  /** 0 = reconnect forever; N: the link gives up after N failed attempts (and `run` exits 1) */
  max_reconnect_attempts: number;
  heartbeat_interval: number;
  state_dir: string;
  repo_cache_dir: string;
  exec_command: string;
  execution_timeout: number;
  keep_failed_worktrees_hours: number;
  worktree_disk_cap_mb: number;
  history_retention_days: number;
  history_max_tasks: number;
  task_log_max_mb: number;
  drain_timeout: number;
  /** '' = the first installed agent CLI */
  agent: AgentName | '';
  agents: AgentsConfig;
  auto_commit: boolean;
  push_branch: boolean;
  /** plain http:// to a non-loopback server is refused unless this is true (serverUrl.ts) */
  allow_insecure_http: boolean;
  /** HOST:PORT serving /metrics, /healthz and /readyz; '' = off (nothing is loaded) */
  metrics_listen: string;
  /** a non-loopback metrics_listen is refused unless this is true */
  metrics_allow_remote: boolean;
}

export const SECRET_KEYS = ['access_token', 'refresh_token', 'runner_token'] as const;

/** Where runner.yaml is when no flag or environment variable names another. */
export function defaultConfigPath(home: string): string {
  return join(home, '.config', 'sibyl', 'runner.yaml');
}

/**
 * What tells one configuration's default folders from another's: '' for the default runner.yaml
 * (and when no path is given), as it always was, so an existing install keeps its journal, history
 * and worktrees; `-<12 hex of sha256(path)>` for any other configuration (`configPath` absolute),
 * so two configurations in one HOME never share a journal, history, lock, worktree registry or logs.
 * Paths are compared and hashed resolved (canonicalPath.ts): one file reached by two paths is one configuration.
 */
function folderSuffix(home: string, configPath: string | undefined): string {
  if (configPath === undefined) return '';
  const config = canonicalPath(configPath);
  if (config === canonicalPath(defaultConfigPath(home))) return '';
  return `-${createHash('sha256').update(config).digest('hex').slice(0, 12)}`;
}

/** The default state folder of the configuration at `configPath`: `~/.sibyl/state`, or `~/.sibyl/state-<hash>` (see folderSuffix). */
export function defaultStateDir(home: string, configPath?: string): string {
  return `${home}/.sibyl/state${folderSuffix(home, configPath)}`;
}

/** Defaults for every key; `configPath` (absolute) picks the default state, worktree and log folders (see folderSuffix). */
export function defaultConfig(home: string, configPath?: string): RunnerConfig {
  const suffix = folderSuffix(home, configPath);
  return {
    server_url: '',
    runner_id: '',
    graph_runner_id: '',
    name: '',
    max_concurrent_agents: 3,
    // The original defaulted to ["docker"] and never checked (R8); we send configured ∪ detected.
    capabilities: [],
    access_token: '',
    refresh_token: '',
    runner_token: '',
    sandbox_mode: false,
    sandbox_id: '',
    worktree_base: `${home}/.sibyl/worktrees${suffix}`,
    log_dir: `${home}/.sibyl/logs${suffix}`,
    reconnect_interval: 1,
    max_reconnect_attempts: 0,
    heartbeat_interval: 30,
    state_dir: defaultStateDir(home, configPath),
    repo_cache_dir: `${home}/.sibyl/repos`,
    exec_command: '',
    execution_timeout: 3600,
    keep_failed_worktrees_hours: 24,
    worktree_disk_cap_mb: 0,
    history_retention_days: 90,
    history_max_tasks: 10000,
    task_log_max_mb: 50,
    drain_timeout: 30,
    agent: '',
    agents: {},
    auto_commit: true,
    push_branch: false,
    allow_insecure_http: false,
    metrics_listen: '',
    metrics_allow_remote: false,
  };
}
