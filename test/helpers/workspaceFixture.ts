import { join } from 'node:path';
import { after } from 'node:test';
import type { Logger } from '../../main/runner/logger.ts';
import { ProjectLinks } from '../../main/runner/projects/links.ts';
import type { TaskSpec } from '../../main/runner/tasks/taskSpec.ts';
import { GitWorkspaces } from '../../main/runner/workspace/worktrees.ts';
import { makeRemotePair, tempDir } from './gitRepo.ts';

/** A linked project (checkout cloned from a file:// upstream) and a GitWorkspaces over temp folders. */

export const quiet: Logger = { debug() {}, info() {}, warn() {}, error() {}, child: () => quiet };
export const HOUR = 3600_000;
export const PROJECT = 'project_1a2b3c4d5e6f';

let n = 0;
export function spec(over: Partial<TaskSpec> = {}): TaskSpec {
  n++;
  return {
    taskId: `${(0x1a2b3c00 + n).toString(16)}-7a2f-4c8e-b1d0-2f3e4a5b6c7d`,
    agentId: 'agent_4f1c2b9a7d3e',
    projectId: PROJECT,
    prompt: 'do it',
    agentType: undefined,
    command: ['true'],
    commandSource: 'config',
    timeoutSeconds: 60,
    timeoutFromTask: false,
    worktreePath: undefined,
    branch: undefined,
    baseRef: undefined,
    repoUrl: undefined,
    shadow: false,
    ...over,
  };
}

const temps: Array<() => void> = [];
after(() => temps.forEach((c) => c()));

/** A temp folder removed when the test file ends. */
export function scratch(): string {
  const { dir, cleanup } = tempDir();
  temps.push(cleanup);
  return dir;
}

export async function setup(opts: { keepHours?: number; diskCapBytes?: number } = {}) {
  const dir = scratch();
  const pair = makeRemotePair(join(dir, 'src'), { files: { 'README.md': '# app\n', 'src/app.txt': 'one\ntwo\n' } });
  const links = new ProjectLinks({ homeDir: join(dir, 'home'), configDir: join(dir, 'config'), log: quiet });
  await links.link(pair.checkout, PROJECT);
  const clock = { now: Date.parse('2026-03-01T00:00:00Z') };
  const base = join(dir, 'worktrees');
  const make = (): GitWorkspaces =>
    new GitWorkspaces({
      worktreeBase: base,
      repoCacheDir: join(dir, 'repos'),
      links,
      log: quiet,
      now: () => clock.now,
      fetchTimeoutMs: 5000,
      ...(opts.keepHours !== undefined ? { keepFailedWorktreesHours: opts.keepHours } : {}),
      ...(opts.diskCapBytes !== undefined ? { diskCapBytes: opts.diskCapBytes } : {}),
    });
  return { dir, base, pair, links, clock, make, ws: make() };
}
