import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Locator } from 'playwright-core';
import { chromiumPath, NO_CHROMIUM } from './chromium.ts';
import { expect } from './expect.ts';
import { openRenderer, type RendererFixture } from './fixture.ts';
import { WizardPage } from './pages/wizardPage.ts';

const browser = chromiumPath();
const skip = browser ? false : NO_CHROMIUM;

test('wizard errors are shown inline next to the step that caused them, and nothing typed is lost', { skip, timeout: 60_000 }, async () => {
  const fx = await openRenderer(browser!);
  const wizard = new WizardPage(fx.page);

  // Step 1: each kind of failed check says what is wrong, and Continue stays on the step.
  await wizard.checkServer('http://127.0.0.1:1');
  await expect(wizard.checkResult).toContainText('Server unreachable');
  await expect(wizard.checkResult.locator('[data-kind]')).toHaveAttribute('data-kind', 'unreachable');
  await wizard.continueButton.click();
  await expect(wizard.heading).toHaveText('Which Sibyl server?');
  await fx.screenshot('wizard-1-unreachable');
  // The check only probes the health route, so it may be overruled: the address is used as typed.
  await fx.page.getByRole('button', { name: 'Use this address anyway' }).click();
  await expect(wizard.heading).toHaveText('Sign in');
  await expect(fx.page.locator('.wizard-panel')).toContainText('Sign in to http://127.0.0.1:1 as');
  await wizard.backButton.click();
  await expect(wizard.serverUrl).toHaveValue('http://127.0.0.1:1');
  await wizard.checkServer(fx.url);
  await expect(wizard.checkResult).toContainText('Not a Sibyl server');
  await expect(useAnyway(fx)).toBeVisible();
  await wizard.checkServer(fx.core.url.replace('http:', 'https:'));
  await expect(wizard.checkResult).toContainText('TLS problem');
  await expect(useAnyway(fx)).toBeVisible();
  // No way past an address that cannot work at all: plain http:// to another machine is refused before any request.
  await wizard.checkServer('http://sibyl.example.com');
  await expect(wizard.checkResult.locator('[data-kind]')).toHaveAttribute('data-kind', 'insecure_http');
  await expect(useAnyway(fx)).toHaveCount(0);
  // Typing invalidates the old result; Continue checks by itself.
  await wizard.serverUrl.fill(fx.core.url);
  await expect(wizard.checkResult).toHaveText('');
  await wizard.continueButton.click();
  await expect(wizard.heading).toHaveText('Sign in');

  // Step 2: a rejected token is reported under the token field; a too-short one never leaves the page.
  await wizard.useToken('short');
  await expect(wizard.fieldError('Access token or API key')).toHaveText('Paste the whole token.');
  await wizard.useToken('sk_test_this-key-does-not-exist-on-the-server');
  await expect(wizard.fieldError('Access token or API key')).toContainText("didn't accept this token");
  await expect(wizard.continueButton).not.toBeEnabled();
  await fx.screenshot('wizard-2-token-rejected');
  // Going back and forth keeps the token typed and the chosen sign-in method.
  await wizard.backButton.click();
  await wizard.continueButton.click();
  await expect(fx.page.getByRole('radio', { name: 'Use a token' })).toBeChecked();
  await expect(fx.page.getByLabel('Access token or API key')).toHaveValue('sk_test_this-key-does-not-exist-on-the-server');

  // Device flow: denied, then expired, each with a retry that starts over.
  await fx.page.getByRole('radio', { name: 'Sign in with browser' }).check();
  await wizard.signInWithBrowserButton.click();
  await expect(wizard.userCode).toHaveText(/-/);
  fx.core.denyDevice((await wizard.userCode.textContent()) ?? '');
  await expect(wizard.deviceState).toContainText('denied');
  await fx.page.getByRole('button', { name: 'Try again' }).click();
  await expect(wizard.deviceState).toContainText('Waiting for you to approve');
  fx.core.expireDevice((await wizard.userCode.textContent()) ?? '');
  await expect(wizard.deviceState).toContainText('expired');
  await fx.page.getByRole('button', { name: 'Try again' }).click();
  await expect(wizard.deviceState).toContainText('Waiting for you to approve');
  fx.core.approveDevice((await wizard.userCode.textContent()) ?? '');
  await expect(wizard.deviceState).toContainText('Approved');
  await expect(wizard.signedIn).toHaveText('Signed in as Ada (ada@example.com) in Ada (owner).');
  await wizard.continueButton.click();

  // Step 4: the server refuses the registration; the error is tied to "This runner", where it is fixed.
  await wizard.runnerName.fill('refused-runner');
  await wizard.continueButton.click();
  fx.core.failNext('POST', '/api/runners/register', 422, {
    detail: [{ type: 'value_error', loc: ['body', 'name'], msg: 'Value error, name already taken', input: 'refused-runner' }],
  });
  await wizard.registerButton.click();
  await expect(wizard.registrationError).toContainText('That name is already taken on this server.');
  await expect(wizard.step('This runner')).toBeVisible();
  await expect(fx.page.locator('.step[data-state="error"]')).toHaveText(/This runner/);
  await fx.screenshot('wizard-4-error');
  await fx.page.getByRole('button', { name: 'Fix in “This runner”' }).click();
  await expect(wizard.heading).toHaveText('This runner');
  await expect(fx.page.locator('.wizard-panel [role="alert"]').first()).toContainText('That name is already taken on this server.');
  await expect(wizard.runnerName).toHaveValue('refused-runner');
  await wizard.runnerName.fill('accepted-runner');
  await wizard.continueButton.click();
  await wizard.registerButton.click();
  await expect(wizard.connectStatus).toContainText('Connected', { timeout: 10_000 });
  assert.equal(fx.core.runner((await wizard.runnerId.textContent()) ?? '')?.name, 'accepted-runner');
  assert.deepEqual(fx.pageErrors, []);
});

function useAnyway(fx: RendererFixture): Locator {
  return fx.page.getByRole('button', { name: 'Use this address anyway' });
}
