import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { makeRepo } from '../helpers/gitRepo.ts';
import pkg from '../../package.json' with { type: 'json' };
import { chromiumPath, NO_CHROMIUM } from './chromium.ts';
import { expect } from './expect.ts';
import { until } from '../helpers/tmp.ts';
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
    const dashWidth = await fx.page
      .locator('.dashboard .card')
      .first()
      .evaluate((el) => el.getBoundingClientRect().width);
    const settings = new SettingsPage(fx.page);
    await settings.open();
    // As wide as the other screens: every section takes main's width, like the dashboard's cards.
    const widths = await fx.page.locator('.settings section.card').evaluateAll((els) => els.map((el) => el.getBoundingClientRect().width));
    assert.ok(widths.length >= 6, `sections: ${widths.length}`);
    for (const w of widths) assert.equal(Math.round(w), Math.round(dashWidth));

    // Credentials in words (this test's app keeps them in a file), the exact place behind Details.
    await expect(settings.credentials).toHaveText('Stored in a private file only you can read');
    await expect(settings.account).not.toContainText('0600');
    await settings.account.getByText('Details').click();
    await expect(settings.account).toContainText(join(fx.home, '.config', 'sibyl-runner', 'credentials.json'));

    // Start at login is read back from the OS port, not remembered by the page.
    await settings.startAtLogin.check();
    await expect(settings.saved('General')).toHaveText('Saved');
    assert.equal(fx.ports.loginItemOn, true);
    // The note is transient: it fades by itself.
    await expect(settings.saved('General')).toHaveText('');
    await fx.page.reload();
    await expect(settings.startAtLogin).toBeChecked();
    await settings.notifications.uncheck();
    await expect(settings.saved('General')).toHaveText('Saved');
    assert.equal((await fx.call('settings:get', {})).notifications, false);

    // Out-of-range input is refused next to the field; a good value is saved and used.
    await settings.maxAgents.fill('25');
    await settings.maxAgents.press('Tab');
    await expect(settings.fieldError('Maximum concurrent agents')).toHaveText('Enter a whole number from 1 to 20.');
    await settings.maxAgents.fill('5');
    await settings.maxAgents.press('Tab');
    await expect(settings.saved('Runner')).toHaveText('Saved');
    // One note at a time: the General section's went when the Runner one appeared.
    await expect(settings.saved('General')).toHaveText('');
    await expect(settings.fieldError('Maximum concurrent agents')).toHaveText('');
    assert.equal((await fx.call('settings:get', {})).maxAgents, 5);

    const keep = fx.page.getByLabel('Keep tasks for (days)');
    await keep.fill('30');
    await keep.press('Tab');
    await expect(settings.saved('History')).toHaveText('Saved');
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

    // About: the version, the logs folder opened by the OS, and diagnostics to copy (no secrets).
    await expect(settings.about.getByTestId('about-version')).toHaveText(pkg.version);
    const about = await fx.call('settings:about', {});
    assert.ok(about.logsFolder.startsWith(fx.home), about.logsFolder);
    await settings.about.getByRole('button', { name: 'Open logs folder' }).click();
    await until(() => fx.ports.openedPaths.includes(about.logsFolder), 'the logs folder to be opened');
    assert.ok(existsSync(about.logsFolder));
    await fx.page.context().grantPermissions(['clipboard-read', 'clipboard-write'], { origin: fx.url });
    await settings.about.getByRole('button', { name: 'Copy diagnostics' }).click();
    await expect(settings.about.getByTestId('about-note')).toHaveText('Diagnostics copied.');
    const copied = await fx.page.evaluate(() => navigator.clipboard.readText());
    const line = (key: string): string | undefined =>
      copied
        .split('\n')
        .find((l) => l.startsWith(`${key} `))
        ?.slice(key.length)
        .trim();
    assert.equal(line('Sibyl Runner'), pkg.version);
    assert.equal(line('Node'), process.versions.node);
    assert.equal(line('Electron'), 'not running in Electron');
    assert.match(line('OS') ?? '', new RegExp(`\\(${process.platform}, ${process.arch}\\)$`));
    assert.equal(line('Config'), join(fx.home, '.config', 'sibyl-runner', 'runner.yaml'));
    assert.equal(line('Logs'), about.logsFolder);
    assert.equal(line('Server'), fx.core.url);
    assert.equal(line('Runner'), `settings-desk (${runnerId})`);
    assert.equal(line('Link'), 'Connected');
    assert.equal(line('Credentials'), 'Stored in a private file only you can read');
    const stored = JSON.parse(readFileSync(join(fx.home, '.config', 'sibyl-runner', 'credentials.json'), 'utf8')) as Record<string, string>;
    assert.ok(stored.access_token && !copied.includes(stored.access_token), 'the diagnostics hold no token');
    await settings.about.getByText('Show diagnostics').click();
    await expect(settings.about.getByTestId('diagnostics')).toHaveText(copied);

    // The danger zone is apart from the account: re-register and unregister there, sign out not.
    await expect(settings.dangerZone.getByRole('link', { name: 'Re-register…' })).toBeVisible();
    await expect(settings.dangerZone).toContainText('This replaces runner “settings-desk”');
    await expect(settings.dangerZone.getByRole('button', { name: 'Unregister…' })).toBeVisible();
    await expect(settings.dangerZone.getByRole('button', { name: 'Sign out' })).toHaveCount(0);
    await expect(settings.account.getByRole('button', { name: 'Sign out' })).toBeVisible();
    await expect(settings.account.getByRole('button', { name: 'Unregister…' })).toHaveCount(0);

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
