import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { after, test } from 'node:test';
import type { ElectronApplication } from 'playwright-core';
import { FakeCore } from '../helpers/fakeCore.ts';
import { REPO } from '../helpers/runnerHarness.ts';
import { tempDir, until } from '../helpers/tmp.ts';
import { expect } from '../renderer/expect.ts';
import { DashboardPage } from '../renderer/pages/dashboardPage.ts';
import { WizardPage } from '../renderer/pages/wizardPage.ts';

/**
 * The first run, end to end in a real Electron (Playwright's _electron) against the fake Sibyl
 * Core: the window opens on the wizard, device sign-in (the fake core approves the code), the
 * runner registers and connects, a task the core assigns runs and shows on the dashboard, and the
 * tray follows. Runs where an Electron binary exists (the desktop CI jobs; ELECTRON_PATH elsewhere).
 *
 * Nothing of the user's is touched: HOME (USERPROFILE), XDG_CONFIG_HOME and Electron's userData
 * are temp folders, runner.yaml is pinned there, and the secrets go to a mock keychain (macOS) or
 * the plain-text store (Linux) instead of the OS keyring.
 *
 * The tray is read from the test, not through anything in the app: electronApp.evaluate runs in
 * the app's main process with its `electron` module, where Tray.prototype.setToolTip is wrapped to
 * record each tooltip the app sets (the app calls it through the prototype on every change of
 * state) and shell.openExternal records the sign-in page instead of opening a browser.
 */
function electronBinary(): string | undefined {
  if (process.env.ELECTRON_PATH && existsSync(process.env.ELECTRON_PATH)) return process.env.ELECTRON_PATH;
  try {
    const pathFile = join(REPO, 'node_modules', 'electron', 'path.txt');
    if (!existsSync(pathFile)) return undefined;
    const bin = createRequire(import.meta.url)('electron') as unknown;
    return typeof bin === 'string' && existsSync(bin) ? bin : undefined;
  } catch {
    return undefined;
  }
}

const binary = electronBinary();

/** What the test records in the app's main process. */
interface Recorded {
  tooltips: string[];
  opened: string[];
}

/** Installs the recorders in the main process (see the file's comment). */
async function record(app: ElectronApplication): Promise<void> {
  await app.evaluate(({ Tray, shell }) => {
    const rec: Recorded = { tooltips: [], opened: [] };
    (globalThis as { __sibylE2e?: Recorded }).__sibylE2e = rec;
    const proto: { setToolTip: (this: Electron.Tray, text: string) => void } = Tray.prototype;
    const setToolTip = proto.setToolTip;
    proto.setToolTip = function (text) {
      rec.tooltips.push(text);
      setToolTip.call(this, text);
    };
    Object.defineProperty(shell, 'openExternal', {
      configurable: true,
      writable: true,
      value: async (url: string): Promise<void> => void rec.opened.push(url),
    });
  }, undefined);
}

function recorded(app: ElectronApplication): Promise<Recorded> {
  return app.evaluate(() => (globalThis as { __sibylE2e?: Recorded }).__sibylE2e ?? { tooltips: [], opened: [] }, undefined);
}

/** Waits until the tray's last tooltip matches `pattern`; fails with every tooltip seen. */
async function trayShows(app: ElectronApplication, pattern: RegExp, what: string): Promise<void> {
  let seen: string[] = [];
  try {
    await until(
      async () => {
        seen = (await recorded(app)).tooltips;
        return pattern.test(seen.at(-1) ?? '');
      },
      what,
      15_000,
    );
  } catch (err) {
    throw new Error(`${err instanceof Error ? err.message : String(err)}; tooltips so far: ${JSON.stringify(seen)}`, { cause: err });
  }
}

test(
  'Electron end to end: first run, device sign-in, registration, a task in the window, the tray following',
  {
    skip: binary
      ? false
      : 'no Electron binary: node_modules/electron came without it (ELECTRON_SKIP_BINARY_DOWNLOAD, no network here); runs on the desktop jobs of .github/workflows/ci.yml, or with ELECTRON_PATH',
    timeout: 180_000,
  },
  async () => {
    const { _electron } = await import('playwright-core');
    // `npm test` builds first; a lone run of this file may not have.
    if (!existsSync(join(REPO, 'out', 'desktop', 'main.cjs'))) {
      execFileSync('npm', ['run', 'build', '--silent'], { cwd: REPO, stdio: 'inherit', shell: process.platform === 'win32' });
    }
    const core = await FakeCore.start();
    after(() => core.stop());
    const home = tempDir('sibyl-e2e-home-');
    const userData = join(home, 'userData');
    mkdirSync(join(home, '.config', 'sibyl'), { recursive: true });
    const env: Record<string, string> = {};
    for (const [k, v] of Object.entries(process.env)) if (v !== undefined && !k.startsWith('SIBYL_')) env[k] = v;
    Object.assign(env, {
      HOME: home,
      USERPROFILE: home,
      XDG_CONFIG_HOME: join(home, '.config'),
      SIBYL_CONFIG_FILE: join(home, '.config', 'sibyl', 'runner.yaml'),
    });
    const keyring =
      process.platform === 'darwin' ? ['--use-mock-keychain'] : process.platform === 'linux' ? ['--password-store=basic'] : [];
    const app = await _electron.launch({
      executablePath: binary!,
      args: [REPO, `--user-data-dir=${userData}`, ...keyring],
      env,
      timeout: 60_000,
    });
    try {
      await record(app);
      assert.equal(await app.evaluate(({ app: a }) => a.getPath('userData'), undefined), userData, 'userData is the temp folder');

      // First run: the window opens by itself, on the wizard, with no Node in the page.
      const page = await app.firstWindow();
      assert.match(page.url(), /^app:\/\/sibyl\//);
      const hasNode = await page.evaluate(
        () =>
          typeof (globalThis as { require?: unknown }).require !== 'undefined' ||
          typeof (globalThis as { process?: unknown }).process !== 'undefined',
      );
      assert.equal(hasNode, false, 'no Node in the renderer');
      const wizard = new WizardPage(page);
      await expect(wizard.heading).toHaveText('Which Sibyl server?', { timeout: 30_000 });
      await wizard.checkServer(core.url);
      await expect(wizard.checkResult).toContainText('Sibyl server found');
      await wizard.continueButton.click();

      // Device sign-in: the page shows the code, the sign-in page goes to the system browser (recorded), the core approves.
      await expect(wizard.heading).toHaveText('Sign in');
      await wizard.signInWithBrowserButton.click();
      await expect(wizard.userCode).toHaveText(/^[A-Z0-9]{4}-[A-Z0-9]{4}$/);
      const code = (await wizard.userCode.textContent()) ?? '';
      assert.deepEqual(
        (await recorded(app)).opened.map((u) => u.startsWith(core.url)),
        [true],
        'the verification page went to the system browser',
      );
      core.approveDevice(code);
      await expect(wizard.deviceState).toContainText('Approved', { timeout: 15_000 });
      await wizard.continueButton.click();

      // This runner: the defaults; then register and connect.
      await expect(wizard.heading).toHaveText('This runner');
      await wizard.runnerName.fill('e2e-desk');
      await wizard.continueButton.click();
      await expect(wizard.heading).toHaveText('Register and connect');
      await wizard.registerButton.click();
      await expect(wizard.connectStatus).toContainText('Connected', { timeout: 20_000 });
      const runnerId = (await wizard.runnerId.textContent()) ?? '';
      assert.equal(core.runner(runnerId)?.name, 'e2e-desk');
      assert.ok(core.connected(runnerId));
      await trayShows(app, /Connected — waiting for tasks/, 'the tray to say connected');
      await wizard.openDashboard();

      // A task from the core: a command agent (this test's Node) that waits for a file.
      const gate = join(home, 'gate');
      const agent = [
        'console.log("e2e agent started");',
        'const { existsSync } = require("node:fs");',
        'const t = setInterval(() => { if (existsSync(process.argv[1])) { clearInterval(t); console.log("e2e agent done"); } }, 50);',
      ].join(' ');
      const taskId = crypto.randomUUID();
      core.send(runnerId, {
        type: 'task_assign',
        task_id: taskId,
        agent_id: 'agent_e2e000000000',
        project_id: 'project_e2e',
        config: { prompt: 'Run the end-to-end agent\nIt prints two lines.', command: [process.execPath, '-e', agent, gate] },
      });
      const dash = new DashboardPage(page);
      const card = dash.task(taskId);
      await expect(card.title).toHaveText('Run the end-to-end agent', { timeout: 20_000 });
      await expect(card.log).toContainText('e2e agent started', { timeout: 10_000 });
      await trayShows(app, /Connected — 1 of \d+ agents? busy/, 'the tray to count the running agent');

      writeFileSync(gate, '');
      await core.waitFor((f) => f.message?.type === 'task_complete' && f.message.task_id === taskId, 20_000, 'the completion');
      await expect(card.root).toHaveCount(0, { timeout: 10_000 });
      await expect(dash.recent).toContainText('Run the end-to-end agent');
      await trayShows(app, /Connected — waiting for tasks/, 'the tray back to waiting');
    } finally {
      await app.close();
    }
  },
);
