import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import { ESLint } from 'eslint';
import tseslint from 'typescript-eslint';
import { REPO } from '../helpers/runnerHarness.ts';

/**
 * The layer rules in eslint.config.js, tried on probe sources: each forbidden import must fail
 * lint naming the rule, and the allowed ones must pass. Type-aware rules are switched off here,
 * since the probes are not files of the project.
 */
const eslint = new ESLint({ cwd: REPO, overrideConfig: [tseslint.configs.disableTypeChecked] });

async function rulesHit(file: string, source: string): Promise<string[]> {
  const [result] = await eslint.lintText(source, { filePath: join(REPO, file) });
  assert.ok(result, 'eslint returned a result');
  const fatal = result.messages.filter((m) => m.fatal);
  assert.deepEqual(fatal, [], `${file} parsed`);
  return result.messages.map((m) => m.ruleId ?? '');
}

const forbidden: [string, string, string][] = [
  ['main/runner/probe.ts', "import { createAppService } from '../app/appService.ts';", 'import-x/no-restricted-paths'],
  ['main/runner/tasks/probe.ts', "import { requests } from '../../../preload/contract.ts';", 'import-x/no-restricted-paths'],
  ['main/runner/probe.ts', "import { runCommand } from '../cli/commands/run.ts';", 'import-x/no-restricted-paths'],
  ['main/runner/probe.ts', "import { app } from 'electron';", 'no-restricted-imports'],
  ['main/app/probe.ts', "import { DesktopApp } from '../desktop/desktopApp.ts';", 'import-x/no-restricted-paths'],
  ['main/cli/probe.ts', "import { dispatch } from '../app/dispatch.ts';", 'import-x/no-restricted-paths'],
  ['preload/probe.ts', "import { dispatch } from '../main/app/dispatch.ts';", 'import-x/no-restricted-paths'],
  ['renderer/src/probe.ts', "import { readFileSync } from 'node:fs';", 'no-restricted-imports'],
  ['preload/probe.ts', "import { startRunner } from '../main/runner/startRunner.ts';", 'import-x/no-restricted-paths'],
  ['renderer/src/probe.ts', "import { Daemon } from '../../main/runner/daemon.ts';", 'import-x/no-restricted-paths'],
  ['renderer/src/probe.ts', "import { requests } from '../../preload/contract.ts';", '@typescript-eslint/no-restricted-imports'],
  // Only the vocabulary is open to the renderer, and it stays free of value imports so the page bundles no Node or zod.
  ['renderer/src/probe.ts', "import { remedyOf } from '../../main/runner/errors.ts';", 'import-x/no-restricted-paths'],
  ['main/runner/vocabulary.ts', "import { readFileSync } from 'node:fs';", '@typescript-eslint/no-restricted-imports'],
  ['main/runner/vocabulary.ts', "import { REMEDIES } from './errors.ts';", '@typescript-eslint/no-restricted-imports'],
];

for (const [file, source, rule] of forbidden) {
  test(`lint refuses in ${file}: ${source}`, async () => {
    const hit = await rulesHit(file, `${source}\nexport const probe = [${source.match(/import \{ (\w+)/)?.[1] ?? ''}];\n`);
    assert.ok(hit.includes(rule), `expected ${rule}, got ${JSON.stringify(hit)}`);
  });
}

test('lint allows the imports the layers are for', async () => {
  const allowed: [string, string][] = [
    ['main/app/probe.ts', "import { Daemon } from '../runner/daemon.ts';\nexport const probe = [Daemon];\n"],
    ['main/app/probe.ts', "import { requests } from '../../preload/contract.ts';\nexport const probe = [requests];\n"],
    ['preload/probe.ts', "import { Snapshot } from '../main/runner/control/contract.ts';\nexport const probe = [Snapshot];\n"],
    ['renderer/src/probe.ts', "import type { AppState } from '../../preload/contract.ts';\nexport type Probe = AppState;\n"],
    ['renderer/src/probe.ts', "import { duration } from '../../main/runner/vocabulary.ts';\nexport const probe = [duration];\n"],
    ['main/runner/vocabulary.ts', "import type { Remedy } from './errors.ts';\nexport type Probe = Remedy;\n"],
    ['main/desktop/probe.ts', "import { app } from 'electron';\nexport const probe = [app];\n"],
  ];
  for (const [file, source] of allowed) assert.deepEqual(await rulesHit(file, source), [], `${file}: ${source}`);
});
