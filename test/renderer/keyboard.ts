import type { Page } from 'playwright-core';

/** Press Tab until the focused element's accessible name (label, aria-label or text) matches; fails if it is not reachable. */
export async function tabTo(page: Page, name: string | RegExp, max = 40): Promise<void> {
  const seen: string[] = [];
  for (let i = 0; i < max; i++) {
    await page.keyboard.press('Tab');
    const current = await page.evaluate(() => {
      const el = document.activeElement;
      if (!(el instanceof HTMLElement)) return '';
      const labelled =
        el.getAttribute('aria-label') ??
        (el instanceof HTMLInputElement || el instanceof HTMLSelectElement || el instanceof HTMLTextAreaElement
          ? [...(el.labels ?? [])].map((l) => l.textContent ?? '').join(' ')
          : '');
      return (labelled || el.textContent || '').trim().replace(/\s+/g, ' ');
    });
    seen.push(current);
    if (typeof name === 'string' ? current === name : name.test(current)) return;
  }
  throw new Error(`"${String(name)}" not reachable with Tab; focus went through: ${seen.join(' | ')}`);
}

/** The focus ring must be visible: a real outline on the focused element. */
export async function focusRingVisible(page: Page): Promise<boolean> {
  return page.evaluate(() => {
    const el = document.activeElement;
    if (!(el instanceof HTMLElement)) return false;
    const style = getComputedStyle(el);
    return style.outlineStyle !== 'none' && parseFloat(style.outlineWidth) >= 2;
  });
}

/** Every control on the screen has an accessible name: a <label>, aria-label or aria-labelledby, or text. */
export async function unlabelledControls(page: Page): Promise<string[]> {
  return page.evaluate(() =>
    [...document.querySelectorAll<HTMLElement>('input, select, textarea, button, a[href]')]
      .filter((el) => el.offsetParent !== null)
      .filter((el) => {
        if (el.getAttribute('aria-label') || el.getAttribute('aria-labelledby')) return false;
        if (el instanceof HTMLInputElement || el instanceof HTMLSelectElement || el instanceof HTMLTextAreaElement)
          return (el.labels?.length ?? 0) === 0;
        return !(el.textContent ?? '').trim();
      })
      .map((el) => el.outerHTML.slice(0, 120)),
  );
}
