import assert from 'node:assert/strict';
import { test } from 'node:test';
import { chromiumPath, NO_CHROMIUM } from './chromium.ts';
import { expect } from './expect.ts';
import { openRenderer } from './fixture.ts';
import { DashboardPage } from './pages/dashboardPage.ts';
import { SettingsPage } from './pages/settingsPage.ts';
import { WizardPage } from './pages/wizardPage.ts';

const browser = chromiumPath();

test(
  'Re-register… says it replaces this runner, deletes it on the server first, and keeps it when the server refuses',
  { skip: browser ? false : NO_CHROMIUM, timeout: 90_000 },
  async () => {
    const fx = await openRenderer(browser!);
    const oldId = await fx.registerDirectly('old-desk');
    await fx.page.reload();
    const dash = new DashboardPage(fx.page);
    await expect(dash.linkState).toHaveText('Connected');

    const settings = new SettingsPage(fx.page);
    await settings.open();
    await settings.dangerZone.getByRole('link', { name: 'Re-register…' }).click();
    const wizard = new WizardPage(fx.page);
    await expect(fx.page.getByRole('heading', { level: 1 })).toHaveText('Re-register this runner');
    await expect(fx.page.getByTestId('replaces')).toContainText('This replaces runner “old-desk”');

    // The same server, prefilled; a token this time; a new name.
    await expect(wizard.serverUrl).toHaveValue(fx.core.url);
    await wizard.continueButton.click();
    await expect(wizard.heading).toHaveText('Sign in');
    await wizard.useToken(fx.core.mintAccessToken());
    await expect(wizard.signedIn).toHaveText('Signed in as Ada (ada@example.com) in Ada (owner).');
    await wizard.continueButton.click();
    await wizard.runnerName.fill('new-desk');
    await wizard.continueButton.click();
    const host = new URL(fx.core.url).host;
    await expect(fx.page.getByTestId('replace-note')).toHaveText(
      `This replaces runner “old-desk”: it is removed from ${host} first, then this machine registers as “new-desk”.`,
    );

    // The server refuses the delete: nothing is replaced, and the old runner goes back online.
    fx.core.failNext('DELETE', `/api/runners/${oldId}`, 403, { detail: "Cannot delete runner you don't own" });
    await wizard.registerButton.click();
    await expect(wizard.registrationError).toContainText('Registration failed.');
    await fx.core.until(() => fx.core.connected(oldId), 10_000, 'the old runner to reconnect');
    assert.deepEqual(
      fx.core.runners().map((r) => r.id),
      [oldId],
    );
    const kept = await fx.call('app:state', {});
    assert.equal(kept.runnerId, oldId);
    assert.equal(kept.registered, true);

    // Again: the old runner is stopped, deleted on the server, and the new one takes its place.
    await wizard.registerButton.click();
    await expect(wizard.connectStatus).toHaveText(`Connected to ${host}`, { timeout: 15_000 });
    const newId = (await wizard.runnerId.textContent()) ?? '';
    assert.notEqual(newId, oldId);
    await expect(fx.page.getByTestId('replaced')).toHaveText('Runner “old-desk” was removed from the server.');
    await expect(fx.page.getByTestId('replaces')).not.toBeVisible();
    assert.equal(fx.core.runner(oldId), undefined, 'the old runner is gone from the server');
    assert.deepEqual(
      fx.core.runners().map((r) => [r.id, r.name]),
      [[newId, 'new-desk']],
    );
    assert.ok(fx.core.connected(newId));
    const state = await fx.call('app:state', {});
    assert.equal(state.runnerId, newId);
    assert.equal(state.runnerName, 'new-desk');
    await fx.screenshot('wizard-reregistered');
    assert.deepEqual(fx.pageErrors, []);
  },
);
