import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Locator } from 'playwright-core';
import { chromiumPath, NO_CHROMIUM } from './chromium.ts';
import { expect } from './expect.ts';
import { openRenderer } from './fixture.ts';
import { DashboardPage } from './pages/dashboardPage.ts';
import { editRunnerYaml, slowRetries } from './runnerYaml.ts';

const browser = chromiumPath();

/** What the window's main text must never hold (issue 15, item 2). */
function assertPlain(text: string, what: string): void {
  for (const [re, name] of [
    [/`/, 'a backtick'],
    [/sibyl-runner/, 'the CLI'],
    [/\(\d{4}\b|\b4\d{3}\b|\b1006\b|\b1008\b/, 'a close code'],
    [/\bHTTP \d|\b(401|403|422|500|502)\b/, 'an HTTP status'],
    [/[A-Z]{2,}_[A-Z_]{2,}|\bE[A-Z]{4,}\b/, 'an error code or environment variable'],
  ] as const)
    assert.doesNotMatch(text, re, `${what}: ${name} in ${JSON.stringify(text)}`);
}

/** The panel's main text as a person reads it: state, reason, timing and the buttons, not "Details". */
function panelText(panel: Locator): Promise<string> {
  return panel.evaluate((el) =>
    [
      ...el.querySelectorAll(
        '[data-testid="link-state"], [data-testid="link-reason"], [data-testid="link-timing"], .actions button, .signin-again',
      ),
    ]
      .filter((e) => e instanceof HTMLElement && e.offsetParent !== null)
      .map((e) => (e as HTMLElement).innerText)
      .join('\n'),
  );
}

test(
  'errors in the window: plain words with the action as a button and the raw words behind "Details"',
  { skip: browser ? false : NO_CHROMIUM, timeout: 90_000 },
  async () => {
    const fx = await openRenderer(browser!);
    const runnerId = await fx.registerDirectly('errors-desk');
    await slowRetries(fx, runnerId);
    await fx.page.reload();
    const dash = new DashboardPage(fx.page);
    await expect(dash.linkState).toHaveText('Connected');

    // The server refuses the runner's sign-in on the socket (1008): "Sign in again", the close code only in Details.
    fx.core.close(runnerId, 1008, 'Authentication required');
    await expect(dash.linkState).toHaveText('Signed out', { timeout: 10_000 });
    await expect(dash.linkReason).toHaveText("The server didn't accept this runner's sign-in.");
    await expect(fx.page.getByTestId('signin-again')).toHaveText('Sign in again');
    assertPlain(await panelText(dash.panel), 'refused sign-in');
    const details = dash.panel.locator('details.problem-details');
    await details.locator('summary').click();
    await expect(details.locator('pre')).toContainText('1008');
    await fx.screenshot('dashboard-auth-refused');

    // runner.yaml gets a value the runner cannot use: what is wrong in words, where in Details, and a way to start again.
    editRunnerYaml(fx, { max_concurrent_agents: 99 });
    await fx.call('runner:restart', {}).catch(() => undefined);
    await expect(dash.linkState).toHaveText('Needs attention', { timeout: 10_000 });
    await expect(dash.linkReason).toHaveText(
      "The runner's configuration file (runner.yaml) has a value it can't use for max_concurrent_agents.",
    );
    assertPlain(await panelText(dash.panel), 'broken configuration');
    await expect(dash.capacityBlock).not.toBeVisible();
    // "Details" opened for the refused sign-in closed when the state changed; open, it names the key.
    await expect(dash.panel.getByTestId('link-details')).not.toBeVisible();
    await details.locator('summary').click();
    await expect(dash.panel.getByTestId('link-details')).toContainText('max_concurrent_agents');
    await expect(dash.idle).toHaveText('Not receiving tasks while the runner is stopped.');
    await fx.screenshot('dashboard-config-error');
    // Starting it before the file is fixed fails the same way, said next to the button.
    await fx.page.getByTestId('start-runner').click();
    const note = dash.panel.locator('.field-error');
    await expect(note).toHaveText("The runner's configuration file (runner.yaml) has a value it can't use for max_concurrent_agents.");
    editRunnerYaml(fx, { max_concurrent_agents: 2 });
    await fx.page.getByTestId('start-runner').click();
    await expect(dash.linkState).toHaveText('Connected', { timeout: 15_000 });
    await expect(dash.capacity).toHaveText('0 / 2');

    assert.deepEqual(fx.pageErrors, []);
  },
);
