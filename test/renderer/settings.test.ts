import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import { makeRepo } from '../helpers/gitRepo.ts';
import { chromiumPath, NO_CHROMIUM } from './chromium.ts';
import { expect } from './expect.ts';
import { openRenderer } from './fixture.ts';
import { DashboardPage } from './pages/dashboardPage.ts';
import { SettingsPage } from './pages/settingsPage.ts';
import { WizardPage } from './pages/wizardPage.ts';

const browser = chromiumPath();

test(
  'settings save as they change, link projects, and sign out / unregister lead back to setup',
  { skip: browser ? false : NO_CHROMIUM, timeout: 60_000 },
  async () => {
    const fx = await openRenderer(browser!);
    const runnerId = await fx.registerDirectly('settings-desk');
    await fx.page.reload();
    const dash = new DashboardPage(fx.page);
    await expect(dash.linkState).toHaveText('Connected');
    const settings = new SettingsPage(fx.page);
    await settings.open();
    await expect(settings.credentials).not.toHaveText('');

    // Start at login is read back from the OS port, not remembered by the page.
    await settings.startAtLogin.check();
    await expect(settings.saved('General')).toHaveText('Saved.');
    assert.equal(fx.ports.loginItemOn, true);
    await fx.page.reload();
    await expect(settings.startAtLogin).toBeChecked();
    await settings.notifications.uncheck();
    await expect(settings.saved('General')).toHaveText('Saved.');
    assert.equal((await fx.call('settings:get', {})).notifications, false);

    // Out-of-range input is refused next to the field; a good value is saved and used.
    await settings.maxAgents.fill('25');
    await settings.maxAgents.press('Tab');
    await expect(settings.fieldError('Maximum concurrent agents')).toHaveText('Enter a whole number from 1 to 20.');
    await settings.maxAgents.fill('5');
    await settings.maxAgents.press('Tab');
    await expect(settings.saved('Runner')).toHaveText('Saved.');
    await expect(settings.fieldError('Maximum concurrent agents')).toHaveText('');
    assert.equal((await fx.call('settings:get', {})).maxAgents, 5);

    const keep = fx.page.getByLabel('Keep tasks for (days)');
    await keep.fill('30');
    await keep.press('Tab');
    await expect(settings.saved('History')).toHaveText('Saved.');
    assert.equal((await fx.call('settings:get', {})).historyRetentionDays, 30);

    // Linked projects: pick a real git checkout, link it, remove it.
    const repo = makeRepo(join(fx.home, 'code', 'webapp'));
    fx.ports.folder = repo;
    const linkForm = fx.page.locator('form.link-form');
    await linkForm.getByRole('button', { name: 'Choose…' }).click();
    await expect(linkForm.getByLabel('Folder')).toHaveValue(repo);
    await linkForm.getByLabel('Sibyl project id').fill('project_webapp');
    await linkForm.getByRole('button', { name: 'Link project' }).click();
    await expect(settings.projects).toContainText('project_webapp');
    await expect(settings.projects).toContainText(repo);
    await fx.screenshot('settings');
    await linkForm.getByLabel('Sibyl project id').fill('bad id!');
    await linkForm.getByLabel('Folder').fill(repo);
    await linkForm.getByRole('button', { name: 'Link project' }).click();
    await expect(fx.page.locator('.link-form .field-error').filter({ hasText: 'not a project id' })).toBeVisible();
    await fx.page.getByRole('button', { name: 'Remove link to project_webapp' }).click();
    await expect(settings.projects).toContainText('No linked projects');

    // Sign out: the runner stops and the dashboard says so, offering to sign in again.
    await fx.page.getByRole('button', { name: 'Sign out' }).click();
    await fx.core.until(() => !fx.core.connected(runnerId), 5000, 'the runner to disconnect');
    await dash.open();
    await expect(dash.linkState).toHaveText('Signed out');
    await expect(fx.page.getByTestId('signin-again')).toBeVisible();

    // Unregister, confirmed inline: back to the setup wizard.
    await settings.open();
    await fx.page.getByRole('button', { name: 'Unregister…' }).click();
    await fx.page.getByRole('button', { name: 'Yes, unregister' }).click();
    await expect(new WizardPage(fx.page).heading).toHaveText('Which Sibyl server?');
    await expect(fx.page.getByRole('navigation', { name: 'Main' })).not.toBeVisible();
    assert.equal((await fx.call('app:state', {})).registered, false);
    assert.deepEqual(fx.pageErrors, []);
  },
);
