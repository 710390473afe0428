import { userInfo } from 'node:os';
import { RunnerError } from '../errors.ts';
import type { ServiceBackend, ServiceHost } from './backend.ts';
import { launchdBackend } from './launchd.ts';
import { scheduledTaskBackend } from './scheduledTask.ts';
import { systemdBackend } from './systemd.ts';

/**
 * The service manager of `host.platform`: systemd (user) on Linux, launchd on macOS, the Task
 * Scheduler on Windows. Throws RunnerError `service_unsupported` elsewhere.
 */
export function serviceBackend(host: ServiceHost): ServiceBackend {
  switch (host.platform) {
    case 'linux':
      return systemdBackend(host);
    case 'darwin':
      return launchdBackend(host);
    case 'win32':
      return scheduledTaskBackend(host);
    default:
      throw new RunnerError(
        'service_unsupported',
        `installing a service is supported on Linux (systemd), macOS (launchd) and Windows (Task Scheduler), not on ${host.platform}`,
      );
  }
}

/** This process's user on this machine, with `home` and `env` as the command was given them. */
export function currentHost(home: string, env: Record<string, string | undefined>): ServiceHost {
  const info = userInfo();
  return { platform: process.platform, home, env, uid: info.uid, user: env.USER || env.USERNAME || info.username };
}
