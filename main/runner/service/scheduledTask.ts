import { join, win32 } from 'node:path';
import type { ServiceBackend, ServiceHost, ServiceStatus } from './backend.ts';
import type { CommandRunner, ServiceStep } from './plan.ts';
import { runArguments, TASK_NAME, type ServiceSpec } from './spec.ts';

/**
 * One argument of a Windows command line, quoted the way programs built with the Microsoft C
 * runtime (Node among them) split it again: quotes around anything with a space, tab or quote;
 * a quote inside escaped with a backslash, and the backslashes right before a quote (or before
 * the closing quote) doubled.
 */
export function windowsArgument(arg: string): string {
  if (arg !== '' && !/[\s"]/.test(arg)) return arg;
  let out = '"';
  let slashes = 0;
  for (const ch of arg) {
    if (ch === '\\') {
      slashes++;
      continue;
    }
    out += ch === '"' ? '\\'.repeat(slashes * 2 + 1) + '"' : '\\'.repeat(slashes) + ch;
    slashes = 0;
  }
  return `${out}${'\\'.repeat(slashes * 2)}"`;
}

function xmlText(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

/**
 * The Scheduled Task (Task Scheduler schema 1.2): at this user's logon, in their session with
 * their rights (no password stored), no time limit, one instance, on battery too, and restarted
 * by the Task Scheduler every minute after a failure, up to 255 times (the schema's largest count).
 * Windows has no SIGTERM: `schtasks /End` ends the runner at once, and the next start recovers
 * its tasks from the journal. `principal` is DOMAIN\user.
 */
export function scheduledTaskXml(spec: ServiceSpec, principal: string): string {
  const args = runArguments(spec).map(windowsArgument).join(' ');
  return `<?xml version="1.0" encoding="UTF-16"?>
<!-- Written by \`sibyl-runner service install\`, which rewrites it: run that again instead of editing. -->
<Task version="1.2" xmlns="http://schemas.microsoft.com/windows/2004/02/mit/task">
  <RegistrationInfo>
    <Description>Sibyl Runner: runs a Sibyl server's AI coding-agent tasks on this machine</Description>
    <URI>\\${xmlText(TASK_NAME)}</URI>
  </RegistrationInfo>
  <Triggers>
    <LogonTrigger>
      <Enabled>true</Enabled>
      <UserId>${xmlText(principal)}</UserId>
    </LogonTrigger>
  </Triggers>
  <Principals>
    <Principal id="Author">
      <UserId>${xmlText(principal)}</UserId>
      <LogonType>InteractiveToken</LogonType>
      <RunLevel>LeastPrivilege</RunLevel>
    </Principal>
  </Principals>
  <Settings>
    <MultipleInstancesPolicy>IgnoreNew</MultipleInstancesPolicy>
    <DisallowStartIfOnBatteries>false</DisallowStartIfOnBatteries>
    <StopIfGoingOnBatteries>false</StopIfGoingOnBatteries>
    <AllowHardTerminate>true</AllowHardTerminate>
    <StartWhenAvailable>true</StartWhenAvailable>
    <RunOnlyIfNetworkAvailable>false</RunOnlyIfNetworkAvailable>
    <IdleSettings>
      <StopOnIdleEnd>false</StopOnIdleEnd>
      <RestartOnIdle>false</RestartOnIdle>
    </IdleSettings>
    <AllowStartOnDemand>true</AllowStartOnDemand>
    <Enabled>true</Enabled>
    <Hidden>false</Hidden>
    <RunOnlyIfIdle>false</RunOnlyIfIdle>
    <WakeToRun>false</WakeToRun>
    <ExecutionTimeLimit>PT0S</ExecutionTimeLimit>
    <Priority>7</Priority>
    <RestartOnFailure>
      <Interval>PT1M</Interval>
      <Count>255</Count>
    </RestartOnFailure>
  </Settings>
  <Actions Context="Author">
    <Exec>
      <Command>${xmlText(windowsArgument(spec.node))}</Command>
      <Arguments>${xmlText(args)}</Arguments>
      <WorkingDirectory>${xmlText(spec.home)}</WorkingDirectory>
    </Exec>
  </Actions>
</Task>
`;
}

/**
 * schtasks on Windows. The task definition it was created from is kept in
 * %LOCALAPPDATA%\sibyl-runner\service-task.xml, to read; the Task Scheduler holds the task itself.
 */
export function scheduledTaskBackend(host: ServiceHost): ServiceBackend {
  // Native joins: these paths are written by this process (a test's temp HOME on any OS).
  const localAppData = host.env.LOCALAPPDATA || join(host.home, 'AppData', 'Local');
  const dir = join(localAppData, 'sibyl-runner');
  const unitPath = join(dir, 'service-task.xml');
  // By its System32 path, as taskkill is: a schtasks.exe earlier on PATH is not run.
  const schtasks = win32.join(host.env.SystemRoot || 'C:\\Windows', 'System32', 'schtasks.exe');
  const run = (...args: string[]): Extract<ServiceStep, { kind: 'run' }> => ({ kind: 'run', file: schtasks, args });
  const principal = host.env.USERDOMAIN ? `${host.env.USERDOMAIN}\\${host.user}` : host.user;
  return {
    kind: 'Scheduled Task',
    unitPath,
    logs: 'log_dir in runner.yaml (runner.log)',
    render: (spec) => scheduledTaskXml(spec, principal),
    install: (spec) => [
      { kind: 'mkdir', path: dir },
      // schtasks reads the definition as UTF-16, as its XML declaration says.
      { kind: 'write', path: unitPath, content: scheduledTaskXml(spec, principal), encoding: 'utf16le' },
      { ...run('/End', '/TN', TASK_NAME), tolerate: 'it was not running' },
      run('/Create', '/TN', TASK_NAME, '/XML', unitPath, '/F'),
      run('/Run', '/TN', TASK_NAME),
    ],
    uninstall: () => [
      { ...run('/End', '/TN', TASK_NAME), tolerate: 'it was not running' },
      run('/Delete', '/TN', TASK_NAME, '/F'),
      { kind: 'remove', path: unitPath },
    ],
    start: () => [run('/Run', '/TN', TASK_NAME)],
    stop: () => [run('/End', '/TN', TASK_NAME)],
    status: (runner) => taskStatus(runner, schtasks),
  };
}

async function taskStatus(run: CommandRunner, schtasks: string): Promise<ServiceStatus> {
  // CSV: "TaskName","Next Run Time","Status". The status word is in the system's language, so it is shown as it is.
  const result = await run(schtasks, ['/Query', '/TN', TASK_NAME, '/FO', 'CSV', '/NH']);
  if (result.code !== 0) return { installed: false, state: 'stopped', detail: 'no such task' };
  const status = /"([^"]*)"\s*$/m.exec(result.stdout.trim())?.[1] ?? '';
  // English words are understood; another language's show as the detail, the state unknown.
  const state: ServiceStatus['state'] = /^running$/i.test(status) ? 'running' : /^(ready|disabled)$/i.test(status) ? 'stopped' : 'unknown';
  return { installed: true, enabled: !/^disabled$/i.test(status), state, detail: status };
}
