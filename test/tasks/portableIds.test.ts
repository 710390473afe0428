import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { TaskRejected, UsageError } from '../../main/runner/errors.ts';
import { ProjectLinks } from '../../main/runner/projects/links.ts';
import { isSafeId } from '../../main/runner/tasks/taskSpec.ts';
import { makeRepo } from '../helpers/gitRepo.ts';
import { specOf } from '../helpers/taskAssign.ts';
import { tempDir } from '../helpers/tmp.ts';
import { quiet } from '../helpers/workspaceFixture.ts';

/** Ids become folder names: one rule that is a portable file name on Linux, macOS and Windows (issue 13, case 5). */

const assign = (extra: Record<string, unknown>) => specOf(extra);

const NOT_PORTABLE = [
  'C:evil', // a Windows alternate data stream
  'a:b',
  'user@host',
  'CON',
  'con',
  'Nul',
  'nul.txt',
  'PRN',
  'aux.tar.gz',
  'COM1',
  'com9.log',
  'LPT1',
  'lpt9',
  'x.', // Windows drops the trailing dot: "x." and "x" are one folder
  'x..y',
  '.hidden',
  '-flag',
  'a b',
  'x'.repeat(129),
];
const REAL = [
  '9e5d3c1b-7a2f-4c8e-b1d0-2f3e4a5b6c7d',
  'project_1a2b3c4d5e6f',
  'agent_4f1c2b9a7d3e',
  'v1.2_rc-3',
  'x'.repeat(128),
  'COM10',
  'console',
  'LPT0',
];

test('ids that are not portable file names are rejected for each field, naming the field and the rule', () => {
  for (const bad of NOT_PORTABLE) {
    assert.equal(isSafeId(bad), false, JSON.stringify(bad));
    for (const field of ['task_id', 'agent_id', 'project_id']) {
      assert.throws(
        () => assign({ [field]: bad }),
        (e: unknown) =>
          e instanceof TaskRejected &&
          e.reason === 'invalid_task' &&
          e.message.startsWith(`${field} ${JSON.stringify(bad.slice(0, 80))} is not a safe name (letters, digits, . _ - only`),
        `${field} ${JSON.stringify(bad)}`,
      );
    }
  }
});

test('real ids (UUIDs, graph ids) and names merely like device names are accepted', () => {
  for (const good of REAL) {
    assert.equal(isSafeId(good), true, good);
    const s = assign({ task_id: good, project_id: good, agent_id: good });
    assert.equal(s.taskId, good);
    assert.equal(s.projectId, good);
  }
});

test('project links follow the same rule: `projects link` refuses, a CLI [paths] entry is skipped', async () => {
  const dir = tempDir('sibyl-ids-');
  const repo = makeRepo(join(dir, 'repo'));
  const links = new ProjectLinks({ homeDir: join(dir, 'home'), configDir: join(dir, 'config'), log: quiet });
  for (const bad of ['a:b', 'nul', 'x.']) {
    await assert.rejects(
      links.link(repo, bad),
      (e: unknown) => e instanceof UsageError && e.message.includes('is not a project id (letters, digits, . _ - only'),
      bad,
    );
  }
  const ok = await links.link(repo, 'project_1a2b3c4d5e6f');
  assert.equal(ok.projectId, 'project_1a2b3c4d5e6f');
  mkdirSync(join(dir, 'home', '.sibyl'), { recursive: true });
  writeFileSync(join(dir, 'home', '.sibyl', 'config.toml'), `[paths]\n"${repo}" = "C:evil"\n`);
  const { links: all, warnings } = await links.links();
  assert.deepEqual(
    all.map((l) => l.projectId),
    ['project_1a2b3c4d5e6f'],
  );
  assert.match(warnings.join('\n'), /"C:evil" is not a project id/);
});
