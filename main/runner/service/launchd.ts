import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { ServiceBackend, ServiceHost, ServiceStatus } from './backend.ts';
import type { CommandRunner, ServiceStep } from './plan.ts';
import { LAUNCHD_LABEL, runArguments, SERVICE_NAME, type ServiceSpec } from './spec.ts';

/** Text in a property list: XML, so only the markup characters are escaped. */
function xmlText(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

const string = (s: string): string => `<string>${xmlText(s)}</string>`;

/** Where launchd writes the runner's stdout and stderr: ~/Library/Logs, where Console.app looks. */
export function launchdLogFile(home: string): string {
  return join(home, 'Library', 'Logs', SERVICE_NAME, `${SERVICE_NAME}.log`);
}

/**
 * The LaunchAgent's property list. RunAtLoad starts it at login; KeepAlive { SuccessfulExit:
 * false } starts it again after a failed exit or a crash but not after a clean stop (SIGTERM
 * drains and exits 0); ExitTimeOut is how long launchd waits after SIGTERM before SIGKILL.
 * Arguments are separate strings, so paths need XML escaping only.
 */
export function launchdPlist(spec: ServiceSpec): string {
  const log = launchdLogFile(spec.home);
  const env = Object.entries(spec.env)
    .map(([k, v]) => `\t\t<key>${xmlText(k)}</key>\n\t\t${string(v)}`)
    .join('\n');
  return `<?xml version="1.0" encoding="UTF-8"?>
<!DOCTYPE plist PUBLIC "-//Apple//DTD PLIST 1.0//EN" "http://www.apple.com/DTDs/PropertyList-1.0.dtd">
<!-- Written by \`sibyl-runner service install\`, which rewrites it: run that again instead of editing. -->
<plist version="1.0">
<dict>
\t<key>Label</key>
\t${string(LAUNCHD_LABEL)}
\t<key>ProgramArguments</key>
\t<array>
${[spec.node, ...runArguments(spec)].map((a) => `\t\t${string(a)}`).join('\n')}
\t</array>
\t<key>WorkingDirectory</key>
\t${string(spec.home)}
${env ? `\t<key>EnvironmentVariables</key>\n\t<dict>\n${env}\n\t</dict>\n` : ''}\t<key>RunAtLoad</key>
\t<true/>
\t<key>KeepAlive</key>
\t<dict>
\t\t<key>SuccessfulExit</key>
\t\t<false/>
\t</dict>
\t<key>ThrottleInterval</key>
\t<integer>10</integer>
\t<key>ExitTimeOut</key>
\t<integer>${spec.stopTimeoutSeconds}</integer>
\t<key>StandardOutPath</key>
\t${string(log)}
\t<key>StandardErrorPath</key>
\t${string(log)}
</dict>
</plist>
`;
}

/** launchctl on macOS: a LaunchAgent in ~/Library/LaunchAgents, in the user's `gui/<uid>` domain. */
export function launchdBackend(host: ServiceHost): ServiceBackend {
  const unitPath = join(host.home, 'Library', 'LaunchAgents', `${LAUNCHD_LABEL}.plist`);
  const domain = `gui/${host.uid}`;
  const target = `${domain}/${LAUNCHD_LABEL}`;
  const launchctl = (...args: string[]): Extract<ServiceStep, { kind: 'run' }> => ({ kind: 'run', file: 'launchctl', args });
  const bootout = (tolerate: string): ServiceStep => ({ ...launchctl('bootout', target), tolerate });
  return {
    kind: 'launchd LaunchAgent',
    unitPath,
    logs: join(host.home, 'Library', 'Logs', SERVICE_NAME),
    render: launchdPlist,
    install: (spec) => [
      { kind: 'mkdir', path: join(host.home, 'Library', 'LaunchAgents') },
      { kind: 'mkdir', path: join(host.home, 'Library', 'Logs', SERVICE_NAME) },
      { kind: 'write', path: unitPath, content: launchdPlist(spec) },
      // launchd reads a plist when it loads it: unload the old one (stopping a running runner), load the new.
      bootout('it was not loaded'),
      // `launchctl disable` outlives logouts and would keep the new agent from starting.
      launchctl('enable', target),
      launchctl('bootstrap', domain, unitPath),
    ],
    uninstall: () => [bootout('it was not loaded'), { kind: 'remove', path: unitPath }],
    start: () => [
      // Loading starts it (RunAtLoad); a loaded one is kicked instead.
      { ...launchctl('bootstrap', domain, unitPath), tolerate: 'it is already loaded' },
      launchctl('kickstart', target),
    ],
    // Unloads it until the next login or `service start`: a loaded agent with KeepAlive could be started again.
    stop: () => [launchctl('bootout', target)],
    status: (run) => launchdStatus(run, unitPath, target),
  };
}

async function launchdStatus(run: CommandRunner, unitPath: string, target: string): Promise<ServiceStatus> {
  const installed = existsSync(unitPath);
  const result = await run('launchctl', ['print', target]);
  // Not loaded: launchctl exits 113 ("Could not find service").
  if (result.code !== 0) return { installed, enabled: false, state: 'stopped', detail: 'not loaded' };
  const field = (name: string): string | undefined => new RegExp(`^\\s*${name} = (.+)$`, 'm').exec(result.stdout)?.[1]?.trim();
  const state = field('state');
  const pid = Number(field('pid'));
  const lastExit = field('last exit code');
  return {
    installed,
    enabled: true,
    state: state === 'running' ? 'running' : lastExit && lastExit !== '0' && lastExit !== '(never exited)' ? 'failed' : 'stopped',
    ...(pid > 0 ? { pid } : {}),
    detail: [state, lastExit ? `last exit code = ${lastExit}` : ''].filter(Boolean).join(', '),
  };
}
