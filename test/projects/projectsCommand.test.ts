import assert from 'node:assert/strict';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { describe, test } from 'node:test';
import { main } from '../../main/cli/index.ts';
import { makeRepo } from '../helpers/gitRepo.ts';
import { scratch } from '../helpers/workspaceFixture.ts';

/** `sibyl-runner projects …` in process, through the CLI's entry point and its error printer. */
async function cli(argv: string[], ctx: { configDir: string; homeDir: string }): Promise<{ code: number; out: string; err: string }> {
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  let out = '';
  let err = '';
  stdout.on('data', (d: Buffer) => (out += d.toString()));
  stderr.on('data', (d: Buffer) => (err += d.toString()));
  const env = { HOME: ctx.homeDir, PATH: process.env.PATH };
  const code = await main(['projects', ...argv, '--config', join(ctx.configDir, 'runner.yaml')], { stdout, stderr, env, isTTY: false });
  return { code, out, err };
}

describe('sibyl-runner projects', () => {
  test('link, list (table and --json), unlink', async () => {
    const dir = scratch();
    const ctx = { configDir: join(dir, 'config'), homeDir: join(dir, 'home') };
    const repo = makeRepo(join(dir, 'app'), { files: { 'package.json': '{}' } });
    assert.equal((await cli(['link', repo, 'project_1a2b3c4d5e6f'], ctx)).code, 0);
    const table = await cli(['list'], ctx);
    assert.equal(table.code, 0);
    assert.match(table.out, /^PROJECT\s+PATH\s+SOURCE\s+CAPABILITIES\s+REMOTE\s+WARM WORKTREE/);
    assert.match(table.out, /project_1a2b3c4d5e6f\s+\S+app\s+runner\s+node\s+-\s+\S+app \(main\)/);
    const json = await cli(['list', '--json'], ctx);
    const parsed = JSON.parse(json.out) as { projects: Array<{ projectId: string; usable: boolean; capabilities: string[] }> };
    assert.deepEqual(
      parsed.projects.map((p) => [p.projectId, p.usable, p.capabilities]),
      [['project_1a2b3c4d5e6f', true, ['node']]],
    );
    assert.equal((await cli(['unlink', 'project_1a2b3c4d5e6f'], ctx)).code, 0);
    assert.match((await cli(['list'], ctx)).out, /No linked projects/);
  });

  test('exit codes: 2 for usage errors, 1 for runtime failures, 0 for help', async () => {
    const dir = scratch();
    const ctx = { configDir: join(dir, 'config'), homeDir: join(dir, 'home') };
    assert.equal((await cli([], ctx)).code, 2);
    assert.equal((await cli(['link', dir], ctx)).code, 2);
    assert.equal((await cli(['frobnicate'], ctx)).code, 2);
    assert.equal((await cli(['list', '--yaml'], ctx)).code, 2);
    assert.equal((await cli(['link', dir, 'bad id'], ctx)).code, 2);
    const notRepo = await cli(['link', join(dir, 'missing'), 'project_x'], ctx);
    assert.equal(notRepo.code, 1);
    assert.match(notRepo.err, /^sibyl-runner projects: cannot link .*does not exist\n$/);
    assert.equal((await cli(['unlink', 'project_x'], ctx)).code, 1);
    const usage = await cli(['link', dir], ctx);
    assert.equal(usage.err, 'sibyl-runner projects: link needs PATH and PROJECT_ID (see `sibyl-runner projects --help`)\n');
    const help = await cli(['--help'], ctx);
    assert.equal(help.code, 0);
    assert.match(help.out, /projects link PATH PROJECT_ID/);
  });
});
