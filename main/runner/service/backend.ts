import type { CommandRunner, ServiceStep } from './plan.ts';
import type { ServiceSpec } from './spec.ts';

/** What the service manager says about the runner's service. */
export interface ServiceStatus {
  /** the manager knows the service (systemd and launchd: its file exists; Windows: the task exists) */
  installed: boolean;
  /** it starts at login (systemd: enabled; launchd: loaded; Windows: the task is enabled); undefined when unknown */
  enabled?: boolean;
  state: 'running' | 'starting' | 'stopping' | 'stopped' | 'failed' | 'unknown';
  /** the runner's process id, when the manager names it */
  pid?: number;
  /** the manager's own words for the state ("active (running)", "Running", "last exit code = 1") */
  detail?: string;
  /** why the manager could not be asked (systemd's user manager is not running, say) */
  unavailable?: string;
}

/** Who and where: what a backend needs to know about this machine. Injected, so tests pick a temp HOME. */
export interface ServiceHost {
  platform: NodeJS.Platform;
  home: string;
  env: Record<string, string | undefined>;
  /** the numeric user id (launchd's `gui/<uid>` domain); -1 where there is none (Windows) */
  uid: number;
  /** the login name (loginctl, the Windows task's principal) */
  user: string;
}

/**
 * One OS's service manager: the unit it writes and the steps that install, remove, start and stop
 * it — data, carried out by plan.ts `executePlan` — and how it reads the service's state.
 */
export interface ServiceBackend {
  /** how the CLI names it: "systemd user unit", "launchd LaunchAgent", "Scheduled Task" */
  readonly kind: string;
  /** the file the unit is written to */
  readonly unitPath: string;
  /** where the runner's output goes: a command to run or a folder to look in */
  readonly logs: string;
  /** the unit's text (a systemd unit, a property list, a task definition) */
  render(spec: ServiceSpec): string;
  /** write (or rewrite) the unit, have the manager load it, enable it at login and (re)start it */
  install(spec: ServiceSpec): ServiceStep[];
  /** stop the runner, then remove the unit */
  uninstall(): ServiceStep[];
  start(): ServiceStep[];
  stop(): ServiceStep[];
  status(run: CommandRunner): Promise<ServiceStatus>;
}
