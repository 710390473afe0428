// The package as people install it: `npm pack`, then `npm install -g` of the tarball into a temp
// prefix, offline (the package has no runtime dependencies: out/cli.mjs bundles them), then the
// installed `sibyl-runner` run through npm's link on PATH, on this Node (≥ 22.18).
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, readFileSync, realpathSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { before, describe, test } from 'node:test';
import * as z from 'zod';
import { HELP } from '../../main/cli/help.ts';
import { REPO, writeYaml } from '../helpers/runnerHarness.ts';
import { tempDir } from '../helpers/tmp.ts';

const pkg = z
  .object({ name: z.string(), version: z.string(), files: z.array(z.string()) })
  .passthrough()
  .parse(JSON.parse(readFileSync(join(REPO, 'package.json'), 'utf8')));

const work = tempDir('sibyl-package-');
const prefix = join(work, 'prefix');
let packed: string[] = [];

/** npm with its own cache in the temp folder: the test reads nothing from, and writes nothing to, the user's. */
function npm(args: string[]): string {
  return execFileSync('npm', args, {
    cwd: REPO,
    encoding: 'utf8',
    env: { ...process.env, npm_config_cache: join(work, 'npm-cache'), npm_config_update_notifier: 'false' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
}

/** The installed command, found on PATH as a user's shell finds it, its `#!/usr/bin/env node` given this Node. */
function installed(args: string[], env: Record<string, string> = {}) {
  return spawnSync('sibyl-runner', args, {
    encoding: 'utf8',
    env: { PATH: `${join(prefix, 'bin')}:${dirname(process.execPath)}:/usr/bin:/bin`, HOME: work, ...env },
  });
}

describe('the npm package', { skip: process.platform === 'win32' ? 'npm is npm.cmd there; Linux and macOS run this' : false }, () => {
  before(() => {
    // `npm test` builds out/ first; a lone run of this file may not have. Never rebuilt when present:
    // tests running alongside load out/cli.mjs. (--ignore-scripts: `prepare` would rebuild it.)
    if (!existsSync(join(REPO, 'out', 'cli.mjs'))) execFileSync(process.execPath, ['scripts/build-cli.mjs'], { cwd: REPO });
    const [report] = z
      .array(z.object({ filename: z.string(), files: z.array(z.object({ path: z.string() })) }))
      .parse(JSON.parse(npm(['pack', '--ignore-scripts', '--json', '--pack-destination', work])));
    assert.ok(report);
    packed = report.files.map((f) => f.path).sort();
    npm(['install', '--global', '--offline', '--no-audit', '--no-fund', '--prefix', prefix, join(work, report.filename)]);
  });

  test('is publishable and holds what the CLI needs at run time, nothing else', () => {
    assert.equal(pkg.private, undefined, 'a private package cannot be published');
    // The bundles (out/cli.mjs, the desktop app's) contain every library they use.
    assert.equal(pkg.dependencies, undefined);
    // npm always packs package.json's `main` when it exists: the desktop app's entry, which Electron starts
    // the app from (`electron .`). The CLI never loads it.
    const main = z.object({ main: z.string() }).parse(pkg).main;
    const chunks = packed.filter((f) => f.startsWith('out/cli-chunks/'));
    assert.ok(
      chunks.length > 0 && chunks.every((f) => /^out\/cli-chunks\/[\w-]+\.mjs$/.test(f)),
      `the CLI's chunks, no source maps: ${chunks.join(', ')}`,
    );
    assert.deepEqual(
      packed.filter((f) => f !== main && !chunks.includes(f)),
      ['LICENSE', 'README.md', 'bin/sibyl-runner.js', 'out/cli.mjs', 'package.json'],
    );
  });

  test('installs without dependencies and answers --version and --help', () => {
    const root = join(prefix, 'lib', 'node_modules', pkg.name);
    assert.ok(existsSync(join(root, 'out', 'cli.mjs')));
    assert.equal(existsSync(join(root, 'node_modules')), false, 'no runtime dependencies to install');
    for (const flag of ['--version', '-V']) {
      const out = installed([flag]);
      assert.equal(out.status, 0, out.stderr);
      assert.equal(out.stdout, `${pkg.version}\n`);
    }
    const help = installed(['--help']);
    assert.equal(help.status, 0, help.stderr);
    assert.equal(help.stdout, `${HELP.main}\n`);
  });

  test('the installed copy installs a service that runs itself', () => {
    const config = join(work, 'runner.yaml');
    writeYaml(config, { server_url: 'https://sibyl.example.com', runner_id: 'runner-1' });
    const out = installed(['service', 'install', '--dry-run', '--config', config]);
    assert.equal(out.status, 0, out.stderr);
    const launcher = realpathSync(join(prefix, 'lib', 'node_modules', pkg.name, 'bin', 'sibyl-runner.js'));
    if (process.platform === 'linux')
      assert.match(out.stdout, new RegExp(`^ExecStart=${process.execPath} ${launcher} run --config ${config}$`, 'm'));
    else assert.ok(out.stdout.includes(`<string>${launcher}</string>`), out.stdout);
  });

  test('completion scripts come from the installed copy too', () => {
    const out = installed(['completion', 'bash']);
    assert.equal(out.status, 0, out.stderr);
    assert.match(out.stdout, /^complete -o default -F _sibyl_runner sibyl-runner$/m);
  });
});
