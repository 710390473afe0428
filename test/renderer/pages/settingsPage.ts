import type { Locator, Page } from 'playwright-core';

/** Settings: each control saves on change and reports next to itself. */
export class SettingsPage {
  readonly page: Page;
  constructor(page: Page) {
    this.page = page;
  }

  async open(): Promise<void> {
    await this.page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Settings' }).click();
  }
  get startAtLogin(): Locator {
    return this.page.getByRole('checkbox', { name: 'Start at login' });
  }
  get notifications(): Locator {
    return this.page.getByRole('checkbox', { name: 'Notifications' });
  }
  get maxAgents(): Locator {
    return this.page.getByLabel('Maximum concurrent agents');
  }
  get worktreeFolder(): Locator {
    return this.page.getByLabel('Worktree folder');
  }
  /** The "Saved." note of a section (General, Runner, History). */
  saved(section: string): Locator {
    return this.page.getByRole('region', { name: section }).getByTestId('saved');
  }
  get projects(): Locator {
    return this.page.getByTestId('projects');
  }
  get credentials(): Locator {
    return this.page.getByTestId('credentials-storage');
  }
  fieldError(label: string): Locator {
    return this.page
      .locator('.field')
      .filter({ has: this.page.getByLabel(label, { exact: true }) })
      .locator('.field-error');
  }
}
