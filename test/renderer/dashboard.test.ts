import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Locator } from 'playwright-core';
import { chromiumPath, NO_CHROMIUM } from './chromium.ts';
import { expect } from './expect.ts';
import { openRenderer, type RendererFixture } from './fixture.ts';
import { DashboardPage } from './pages/dashboardPage.ts';
import { slowRetries } from './runnerYaml.ts';

const browser = chromiumPath();

/** Hue (degrees) and saturation (0–1) of a CSS rgb()/rgba() colour, as the page computed it. */
function hsl(css: string): { hue: number; sat: number } {
  const [r, g, b] = (css.match(/[\d.]+/g) ?? []).slice(0, 3).map((n) => Number(n) / 255) as [number, number, number];
  const max = Math.max(r, g, b);
  const min = Math.min(r, g, b);
  const d = max - min;
  const l = (max + min) / 2;
  const sat = d === 0 ? 0 : d / (1 - Math.abs(2 * l - 1));
  let hue = 0;
  if (d > 0) hue = max === r ? 60 * (((g - b) / d + 6) % 6) : max === g ? 60 * ((b - r) / d + 2) : 60 * ((r - g) / d + 4);
  return { hue, sat };
}

type Family = 'green' | 'neutral' | 'amber' | 'red';
function family(css: string): Family | 'other' {
  const { hue, sat } = hsl(css);
  if (sat < 0.2) return 'neutral';
  if (hue >= 90 && hue <= 170) return 'green';
  if (hue >= 25 && hue <= 55) return 'amber';
  if (hue >= 340 || hue <= 12) return 'red';
  return 'other';
}

/**
 * The panel's tint and its dot, in light and in dark, are of `expected`'s colour family; for a
 * connected runner the panel stays plain and only its dot and edge are green.
 */
async function assertColours(fx: RendererFixture, panel: Locator, expected: Family, what: string): Promise<void> {
  const read = (): Promise<{ background: string; dot: string; edge: string }> =>
    panel.evaluate((el) => ({
      background: getComputedStyle(el).backgroundColor,
      dot: getComputedStyle(el.querySelector('.dot')!).backgroundColor,
      edge: getComputedStyle(el).borderLeftColor,
    }));
  for (const scheme of ['light', 'dark'] as const) {
    await fx.page.emulateMedia({ colorScheme: scheme });
    // The panel's state can land a render after its words (seen once under load): wait for the dot, then check all three.
    for (const until = Date.now() + 5000; family((await read()).dot) !== expected && Date.now() < until;) {
      await new Promise((r) => setTimeout(r, 50));
    }
    const { background, dot, edge } = await read();
    assert.equal(family(dot), expected, `${what} (${scheme}): dot ${dot}`);
    assert.equal(family(edge), expected === 'neutral' ? 'neutral' : expected, `${what} (${scheme}): edge ${edge}`);
    if (expected !== 'green') assert.equal(family(background), expected, `${what} (${scheme}): panel ${background}`);
  }
  await fx.page.emulateMedia({ colorScheme: 'light' });
}

/** The panel's main text: label, reason and timing (not "Details"), as a person reads it. */
async function mainText(panel: Locator): Promise<string> {
  return panel.evaluate((el) =>
    ['[data-testid="link-state"]', '[data-testid="link-reason"]', '[data-testid="link-timing"]']
      .map((s) => el.querySelector(s)?.textContent ?? '')
      .join(' '),
  );
}

test(
  'dashboard: a connection panel per state — its colour, its reason in words, the attempt and next try, Retry now — and pause',
  { skip: browser ? false : NO_CHROMIUM, timeout: 90_000 },
  async () => {
    const fx = await openRenderer(browser!);
    const runnerId = await fx.registerDirectly('dash-desk');
    await slowRetries(fx, runnerId);
    await fx.page.reload();
    const dash = new DashboardPage(fx.page);
    const host = new URL(fx.core.url).host;
    await expect(dash.linkState).toHaveText('Connected');
    await expect(fx.page.getByTestId('topbar-status')).toHaveText('Connected');
    await expect(dash.capacity).toHaveText('0 / 3');
    await expect(dash.idle).toHaveText(`No tasks running. Waiting for work from ${host}.`);
    await expect(dash.linkReason).toHaveText('');
    await assertColours(fx, dash.panel, 'green', 'connected');

    // Paused: neutral, not the amber of a lost connection; new tasks are refused by the runner.
    await dash.pauseButton.click();
    await expect(dash.linkState).toHaveText('Paused');
    await expect(dash.pauseButton).toHaveText('Resume');
    await expect(dash.idle).toHaveText('Paused: no new tasks are taken until you resume.');
    await assertColours(fx, dash.panel, 'neutral', 'paused');
    const topDot = fx.page.getByTestId('topbar-status').locator('.dot');
    assert.equal(family(await topDot.evaluate((el) => getComputedStyle(el).backgroundColor)), 'neutral', 'the top bar agrees');
    const taskId = crypto.randomUUID();
    fx.core.send(runnerId, {
      type: 'task_assign',
      task_id: taskId,
      agent_id: 'agent_pausedpaused',
      project_id: 'project_1',
      config: { prompt: 'x', command: ['/bin/true'] },
    });
    const reject = await fx.core.waitFor(
      (f) => f.message?.type === 'task_reject' && f.message.task_id === taskId,
      5000,
      'the task to be refused',
    );
    assert.equal(reject.message?.type === 'task_reject' && reject.message.reason, 'runner_draining');
    await dash.pauseButton.click();
    await expect(dash.linkState).toHaveText('Connected');
    await expect(dash.pauseButton).toHaveText('Pause new tasks');

    // The server goes away: amber while it retries, the reason in words, the attempt, the next
    // try and the last connection; no task can arrive, and the page says so.
    await fx.core.stop();
    await expect(dash.linkState).toHaveText('Reconnecting', { timeout: 10_000 });
    await expect(dash.linkReason).toHaveText(
      /^(The connection to the server dropped\.|The server closed the connection\.|Nothing is answering at .* — is Sibyl running\?)$/,
    );
    await expect(dash.linkTiming).toHaveText(/^Attempt [12] · next try in \d+(s|m \d\ds) · last connected (just now|\dm ago)$/);
    await expect(dash.idle).toHaveText('Not receiving tasks while disconnected.');
    await assertColours(fx, dash.panel, 'amber', 'reconnecting');
    assert.doesNotMatch(await mainText(dash.panel), /\(\d{4}|`|sibyl-runner|ECONN/);
    // The core's own words are one click away.
    const details = dash.panel.locator('details.problem-details');
    await expect(details.locator('pre')).not.toBeVisible();
    await details.locator('summary').click();
    await expect(details.locator('pre')).toBeVisible();
    await expect(details.locator('pre')).not.toHaveText('');
    await fx.screenshot('dashboard-reconnecting');

    // Each "Retry now" redials at once; failing a third time, it is "Can't reach the server": red, and "Check the address".
    const attempts = async (): Promise<number> => Number(/Attempt (\d+)/.exec((await dash.linkTiming.textContent()) ?? '')?.[1] ?? 0);
    while ((await attempts()) < 3) {
      const before = await attempts();
      await dash.retryNow.click();
      await expect(dash.linkTiming).toHaveText(new RegExp(`^Attempt ${before + 1} `), { timeout: 10_000 });
    }
    await expect(dash.linkState).toHaveText("Can't reach the server");
    await expect(dash.linkReason).toHaveText(/^Nothing is answering at 127\.0\.0\.1:\d+ — is Sibyl running\?$/);
    await expect(fx.page.getByRole('button', { name: 'Check the address' })).toBeVisible();
    await assertColours(fx, dash.panel, 'red', 'unreachable');
    await fx.screenshot('dashboard-unreachable');

    // Back up: with retries minutes apart, only "Retry now" brings it back within the test's time.
    await fx.core.listen();
    await dash.retryNow.click();
    await expect(dash.linkState).toHaveText('Connected', { timeout: 10_000 });
    await expect(dash.linkReason).toHaveText('');
    await expect(dash.retryNow).not.toBeVisible();

    // Signed out: red, "Sign in again", no agents to count and no empty code box.
    await fx.call('account:signOut', {});
    await expect(dash.linkState).toHaveText('Signed out');
    await expect(fx.page.getByTestId('signin-again')).toBeVisible();
    await expect(fx.page.getByTestId('signin-again-code')).not.toBeVisible();
    await expect(dash.capacityBlock).not.toBeVisible();
    await expect(dash.pauseButton).not.toBeVisible();
    await expect(dash.idle).toHaveText('Not receiving tasks while signed out.');
    await assertColours(fx, dash.panel, 'red', 'signed out');
    await fx.screenshot('dashboard-signed-out');
    assert.deepEqual(fx.pageErrors, []);
  },
);
