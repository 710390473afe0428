import { existsSync } from 'node:fs';
import { RunnerError } from '../errors.ts';
import { isAbsolute, join } from 'node:path';
import type { ServiceBackend, ServiceHost, ServiceStatus } from './backend.ts';
import type { CommandRunner, ServiceStep } from './plan.ts';
import { runArguments, SERVICE_NAME, type ServiceSpec } from './spec.ts';

const UNIT = `${SERVICE_NAME}.service`;

/**
 * One word of an Exec line, double-quoted unless it is plain. Inside quotes systemd reads C escapes (so `\` and `"`
 * are escaped) and expands `%` specifiers everywhere (so `%%`); arguments after the first also
 * expand `$VAR` (so `$$`), while the executable itself is taken literally — `systemd-analyze
 * verify` finds no `/a$$b` for the path `/a$b` (systemd.service(5), "Command lines"). Throws
 * RunnerError `service_path_invalid` for an executable path that systemd will not run.
 */
export function systemdExecWord(word: string, position: 'executable' | 'argument'): string {
  if (/^[\w@+=:,./-]+$/.test(word)) return word;
  // systemd refuses such an executable ("Executable name contains special characters"), however quoted.
  if (position === 'executable' && /["'\\]/.test(word))
    throw new RunnerError(
      'service_path_invalid',
      `systemd cannot run a program whose path holds a quote or a backslash: ${word}. Run this command with a Node installed at a plainer path`,
    );
  let out = word.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/%/g, '%%');
  if (position === 'argument') out = out.replace(/\$/g, '$$$$');
  return `"${out}"`;
}

/** `Environment="KEY=value"`: C escapes and `%` specifiers apply, `$` is not expanded (systemd.exec(5)). */
function environmentLine(key: string, value: string): string {
  return `Environment="${`${key}=${value}`.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/%/g, '%%')}"`;
}

/**
 * The systemd user unit. It restarts the runner after a failure but not after exit 2 (a
 * configuration or usage error, or another runner already holding this configuration: starting
 * again changes nothing); stops it with SIGTERM to the runner alone (KillMode=mixed: the runner
 * drains and ends its agents itself, and whatever is left is killed after TimeoutStopSec); and
 * logs to the journal under the identifier `sibyl-runner`. A user unit starts in the user's home
 * folder, so it names no WorkingDirectory.
 */
export function systemdUnit(spec: ServiceSpec): string {
  const exec = [systemdExecWord(spec.node, 'executable'), ...runArguments(spec).map((a) => systemdExecWord(a, 'argument'))].join(' ');
  return [
    '# Written by `sibyl-runner service install`, which rewrites it: run that again instead of editing.',
    '[Unit]',
    "Description=Sibyl Runner: runs a Sibyl server's AI coding-agent tasks on this machine",
    'Documentation=https://github.com/hyperb1iss/sibyl',
    '',
    '[Service]',
    'Type=exec',
    `ExecStart=${exec}`,
    ...Object.entries(spec.env).map(([k, v]) => environmentLine(k, v)),
    'Restart=on-failure',
    'RestartSec=10',
    'RestartPreventExitStatus=2',
    'KillSignal=SIGTERM',
    'KillMode=mixed',
    `TimeoutStopSec=${spec.stopTimeoutSeconds}`,
    'StandardOutput=journal',
    'StandardError=journal',
    `SyslogIdentifier=${SERVICE_NAME}`,
    '',
    '[Install]',
    'WantedBy=default.target',
    '',
  ].join('\n');
}

const systemctl = (...args: string[]): ServiceStep => ({ kind: 'run', file: 'systemctl', args: ['--user', ...args] });

/** `systemctl --user` on Linux: the unit in ~/.config/systemd/user (or $XDG_CONFIG_HOME/systemd/user). */
export function systemdBackend(host: ServiceHost): ServiceBackend {
  const configHome =
    host.env.XDG_CONFIG_HOME && isAbsolute(host.env.XDG_CONFIG_HOME) ? host.env.XDG_CONFIG_HOME : join(host.home, '.config');
  const unitDir = join(configHome, 'systemd', 'user');
  const unitPath = join(unitDir, UNIT);
  return {
    kind: 'systemd user unit',
    unitPath,
    logs: `journalctl --user -u ${SERVICE_NAME} -f`,
    render: systemdUnit,
    install: (spec) => [
      { kind: 'mkdir', path: unitDir },
      { kind: 'write', path: unitPath, content: systemdUnit(spec) },
      systemctl('daemon-reload'),
      systemctl('enable', UNIT),
      // A running runner drains and starts again on the new unit; a stopped one starts.
      systemctl('restart', UNIT),
    ],
    uninstall: () => [
      { ...systemctl('stop', UNIT), tolerate: 'it was not running' },
      { ...systemctl('disable', UNIT), tolerate: 'it was not enabled' },
      { kind: 'remove', path: unitPath },
      { ...systemctl('daemon-reload'), tolerate: 'the user manager is not running' },
    ],
    start: () => [systemctl('start', UNIT)],
    stop: () => [systemctl('stop', UNIT)],
    status: (run) => systemdStatus(run, unitPath),
  };
}

const STATES: Record<string, ServiceStatus['state']> = {
  active: 'running',
  reloading: 'running',
  activating: 'starting',
  deactivating: 'stopping',
  inactive: 'stopped',
  failed: 'failed',
};

async function systemdStatus(run: CommandRunner, unitPath: string): Promise<ServiceStatus> {
  const installed = existsSync(unitPath);
  const props = ['LoadState', 'ActiveState', 'SubState', 'UnitFileState', 'MainPID'];
  const result = await run('systemctl', ['--user', 'show', UNIT, ...props.map((p) => `--property=${p}`)]);
  if (result.code !== 0) return { installed, state: 'unknown', unavailable: userManagerProblem(result.stderr || result.stdout) };
  const values = new Map(
    result.stdout
      .split('\n')
      .map((line) => line.split('='))
      .filter((kv): kv is [string, string] => kv.length >= 2 && kv[0] !== undefined)
      .map(([k, ...v]) => [k.trim(), v.join('=').trim()]),
  );
  const active = values.get('ActiveState') ?? '';
  const sub = values.get('SubState');
  const pid = Number(values.get('MainPID'));
  return {
    installed,
    enabled: values.get('UnitFileState') === 'enabled',
    state: STATES[active] ?? 'unknown',
    ...(pid > 0 ? { pid } : {}),
    detail: sub ? `${active} (${sub})` : active,
  };
}

/** systemctl's words when it cannot reach the user manager, put as what they mean. */
export function userManagerProblem(output: string): string {
  const said = output.trim().split('\n')[0]?.trim() ?? '';
  if (/Failed to connect to (user scope )?bus|\$DBUS_SESSION_BUS_ADDRESS|XDG_RUNTIME_DIR/i.test(said))
    return `systemd's user manager is not running for this user (systemctl: ${said})`;
  return said || 'systemctl --user failed';
}

/**
 * Whether systemd keeps this user's manager running without a login session (`loginctl
 * enable-linger`): without it the service stops at logout and starts only at the next login.
 * Undefined when loginctl cannot tell.
 */
export async function lingering(run: CommandRunner, user: string): Promise<boolean | undefined> {
  const result = await run('loginctl', ['show-user', user, '--property=Linger', '--value']);
  if (result.code !== 0) return undefined;
  const value = result.stdout.trim();
  return value === 'yes' ? true : value === 'no' ? false : undefined;
}
