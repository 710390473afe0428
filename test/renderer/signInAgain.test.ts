import assert from 'node:assert/strict';
import { test } from 'node:test';
import { chromiumPath, NO_CHROMIUM } from './chromium.ts';
import { expect } from './expect.ts';
import { openRenderer } from './fixture.ts';
import { DashboardPage } from './pages/dashboardPage.ts';

const browser = chromiumPath();

test(
  'signed out: the dashboard says so and signs in again with the device flow, keeping the registration',
  { skip: browser ? false : NO_CHROMIUM, timeout: 60_000 },
  async () => {
    const fx = await openRenderer(browser!, { core: { deviceIntervalS: 0.2 } });
    const runnerId = await fx.registerDirectly('signin-desk');
    await fx.page.reload();
    const dash = new DashboardPage(fx.page);
    await expect(dash.linkState).toHaveText('Connected');
    const registrations = fx.core.requests.filter((r) => r.path === '/api/runners/register').length;

    await fx.call('account:signOut', {});
    await expect(dash.linkState).toHaveText('Signed out');
    await expect(dash.linkReason).toContainText('stays registered');
    const again = fx.page.getByTestId('signin-again');
    await again.click();
    const codeBox = fx.page.getByTestId('signin-again-code');
    await expect(codeBox).toHaveText(/^[A-Z0-9]{4}-[A-Z0-9]{4}$/);
    const code = (await codeBox.textContent()) ?? '';
    assert.ok(
      fx.ports.external.some((u) => u.includes(code)),
      'the verification page was opened in the browser',
    );
    fx.core.approveDevice(code);
    await expect(dash.linkState).toHaveText('Connected', { timeout: 15_000 });
    await fx.core.until(() => fx.core.connected(runnerId), 5000, 'the same runner reconnects');
    assert.equal(fx.core.requests.filter((r) => r.path === '/api/runners/register').length, registrations, 'not registered again');
    assert.equal((await fx.call('app:state', {})).runnerId, runnerId);
    await expect(again).not.toBeVisible();
    assert.deepEqual(fx.pageErrors, []);
  },
);
