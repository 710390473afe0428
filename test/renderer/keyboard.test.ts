import assert from 'node:assert/strict';
import { test } from 'node:test';
import { chromiumPath, NO_CHROMIUM } from './chromium.ts';
import { expect } from './expect.ts';
import { openRenderer } from './fixture.ts';
import { focusRingVisible, tabTo, unlabelledControls } from './keyboard.ts';
import { WizardPage } from './pages/wizardPage.ts';

const browser = chromiumPath();

test(
  'keyboard only: set up the runner, move between screens, change a setting; focus is always visible',
  { skip: browser ? false : NO_CHROMIUM, timeout: 60_000 },
  async () => {
    const fx = await openRenderer(browser!);
    const { page } = fx;
    const wizard = new WizardPage(page);
    const noUnlabelled = async (): Promise<void> => assert.deepEqual(await unlabelledControls(page), []);

    // The skip link comes first and lands on the screen's heading.
    await page.keyboard.press('Tab');
    await expect(page.getByRole('link', { name: 'Skip to content' })).toBeFocused();
    assert.ok(await focusRingVisible(page), 'the skip link shows a focus ring');
    await page.keyboard.press('Enter');
    await expect(page.getByRole('heading', { level: 1 })).toBeFocused();

    // Step 1: type the URL, Enter checks and continues.
    await noUnlabelled();
    await tabTo(page, 'Sibyl server URL');
    assert.ok(await focusRingVisible(page), 'the URL field shows a focus ring');
    await page.keyboard.type(fx.core.url);
    await page.keyboard.press('Enter');
    await expect(wizard.heading).toHaveText('Sign in');
    await expect(wizard.heading).toBeFocused();

    // Step 2: arrow keys pick "Use a token" in the radio group; Enter submits the token.
    await noUnlabelled();
    await tabTo(page, 'Sign in with browser');
    await page.keyboard.press('ArrowRight');
    await expect(page.getByRole('radio', { name: 'Use a token' })).toBeChecked();
    await tabTo(page, 'Access token or API key');
    await page.keyboard.type(fx.core.mintAccessToken());
    await page.keyboard.press('Enter');
    await expect(wizard.signedIn).toBeVisible();
    await tabTo(page, 'Continue');
    assert.ok(await focusRingVisible(page), 'buttons show a focus ring');
    await page.keyboard.press('Enter');

    // Step 3: Enter in "Add a capability" adds it instead of leaving the step.
    await expect(wizard.heading).toHaveText('This runner');
    await noUnlabelled();
    await tabTo(page, 'Add a capability');
    await page.keyboard.type('docker');
    await page.keyboard.press('Enter');
    await expect(wizard.capability('docker')).toBeChecked();
    await expect(wizard.heading).toHaveText('This runner');
    await tabTo(page, 'Continue');
    await page.keyboard.press('Enter');

    // Step 4: register, then open the dashboard.
    await expect(wizard.heading).toHaveText('Register and connect');
    await tabTo(page, 'Register and connect');
    await page.keyboard.press('Enter');
    await expect(wizard.connectStatus).toContainText('Connected', { timeout: 10_000 });
    await tabTo(page, 'Open dashboard');
    await page.keyboard.press('Enter');
    await expect(page.getByRole('heading', { level: 1, name: 'Dashboard' })).toBeFocused();
    await noUnlabelled();

    // The main navigation is reachable and marks the current screen.
    await tabTo(page, 'History');
    assert.ok(await focusRingVisible(page), 'navigation links show a focus ring');
    await page.keyboard.press('Enter');
    await expect(page.getByRole('heading', { level: 1, name: 'History' })).toBeFocused();
    await expect(page.getByRole('link', { name: 'History' })).toHaveAttribute('aria-current', 'page');
    await noUnlabelled();
    await tabTo(page, 'Settings');
    await page.keyboard.press('Enter');
    await expect(page.getByRole('heading', { level: 1, name: 'Settings' })).toBeFocused();

    // Space toggles a checkbox; the change is saved through the bridge.
    await tabTo(page, 'Start at login');
    await page.keyboard.press('Space');
    await expect(page.getByRole('region', { name: 'General' }).getByTestId('saved')).toHaveText('Saved');
    assert.equal(fx.ports.loginItemOn, true);
    await noUnlabelled();
    assert.deepEqual(fx.pageErrors, []);
  },
);
