import type { Locator } from 'playwright-core';

/**
 * Web-first assertions over playwright-core locators (the `expect` of @playwright/test is not
 * part of the core library): each one retries until it holds or the timeout passes, then fails
 * with what it last saw.
 */
export interface LocatorAssertions {
  toHaveText(expected: string | RegExp, opts?: Opts): Promise<void>;
  toContainText(expected: string | RegExp, opts?: Opts): Promise<void>;
  toHaveValue(expected: string | RegExp, opts?: Opts): Promise<void>;
  toHaveAttribute(name: string, expected: string | RegExp, opts?: Opts): Promise<void>;
  toHaveCount(expected: number, opts?: Opts): Promise<void>;
  toBeChecked(opts?: Opts): Promise<void>;
  toBeVisible(opts?: Opts): Promise<void>;
  toBeEnabled(opts?: Opts): Promise<void>;
  toBeFocused(opts?: Opts): Promise<void>;
}

interface Opts {
  timeout?: number;
}

type Probe = () => Promise<{ pass: boolean; seen: unknown }>;

const matches = (actual: string, expected: string | RegExp): boolean =>
  typeof expected === 'string' ? actual === expected : expected.test(actual);
const safe = async <T>(fn: () => Promise<T>, fallback: T): Promise<T> => {
  try {
    return await fn();
  } catch {
    return fallback;
  }
};

export function expect(locator: Locator): LocatorAssertions & { not: LocatorAssertions } {
  const make = (negate: boolean): LocatorAssertions => {
    const check = async (what: string, probe: Probe, opts: Opts = {}): Promise<void> => {
      const timeout = opts.timeout ?? 5000;
      const deadline = Date.now() + timeout;
      let seen: unknown;
      for (;;) {
        const r = await probe();
        seen = r.seen;
        if (r.pass !== negate) return;
        if (Date.now() > deadline) break;
        await new Promise((res) => setTimeout(res, 50));
      }
      // eslint-disable-next-line @typescript-eslint/restrict-template-expressions -- Playwright's Locator prints its selector
      throw new Error(`expected ${locator} ${negate ? 'not ' : ''}${what} within ${timeout} ms; last seen: ${JSON.stringify(seen)}`);
    };
    const text = (): Promise<string> => safe(() => locator.innerText({ timeout: 200 }), '<not found>');
    return {
      toHaveText: (expected, opts) =>
        check(
          `to have text ${String(expected)}`,
          async () => {
            const t = (await text()).trim();
            return { pass: matches(t, expected), seen: t };
          },
          opts,
        ),
      toContainText: (expected, opts) =>
        check(
          `to contain text ${String(expected)}`,
          async () => {
            const t = await text();
            return { pass: typeof expected === 'string' ? t.includes(expected) : expected.test(t), seen: t };
          },
          opts,
        ),
      toHaveValue: (expected, opts) =>
        check(
          `to have value ${String(expected)}`,
          async () => {
            const v = await safe(() => locator.inputValue({ timeout: 200 }), '<not found>');
            return { pass: matches(v, expected), seen: v };
          },
          opts,
        ),
      toHaveAttribute: (name, expected, opts) =>
        check(
          `to have ${name}=${String(expected)}`,
          async () => {
            const v = await safe(() => locator.getAttribute(name, { timeout: 200 }), null);
            return { pass: v !== null && matches(v, expected), seen: v };
          },
          opts,
        ),
      toHaveCount: (expected, opts) =>
        check(
          `to have count ${expected}`,
          async () => {
            const n = await locator.count();
            return { pass: n === expected, seen: n };
          },
          opts,
        ),
      toBeChecked: (opts) =>
        check(
          'to be checked',
          async () => {
            const c = await safe(() => locator.isChecked({ timeout: 200 }), false);
            return { pass: c, seen: c };
          },
          opts,
        ),
      toBeVisible: (opts) =>
        check(
          'to be visible',
          async () => {
            const v = await locator.isVisible();
            return { pass: v, seen: v };
          },
          opts,
        ),
      toBeEnabled: (opts) =>
        check(
          'to be enabled',
          async () => {
            const e = await safe(() => locator.isEnabled({ timeout: 200 }), false);
            return { pass: e, seen: e };
          },
          opts,
        ),
      toBeFocused: (opts) =>
        check(
          'to be focused',
          async () => {
            const f = await safe(() => locator.evaluate((el) => el === document.activeElement, undefined, { timeout: 200 }), false);
            return { pass: f, seen: f };
          },
          opts,
        ),
    };
  };
  return Object.assign(make(false), { not: make(true) });
}
