import assert from 'node:assert/strict';
import type { Page } from 'playwright-core';

/**
 * Nothing on the page may scroll sideways at the window's width (issue 15, item 1): the
 * document's `scrollWidth` is at most the viewport's. A failure names the elements that stick out.
 */
export async function noSidewaysScroll(page: Page, what: string): Promise<void> {
  const { scrollWidth, innerWidth, wide } = await page.evaluate(() => ({
    scrollWidth: document.documentElement.scrollWidth,
    innerWidth: window.innerWidth,
    wide: [...document.querySelectorAll('body *')]
      .filter((el) => el.getBoundingClientRect().right > window.innerWidth + 1)
      .slice(0, 5)
      .map((el) => `${el.tagName.toLowerCase()}.${el.className}`),
  }));
  assert.ok(scrollWidth <= innerWidth, `${what}: ${scrollWidth} px wide at ${innerWidth} px (${wide.join(', ')})`);
}
