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
  /** The "Saved" note of a section (General, Runner, History): shown after a save, then it fades. */
  saved(section: string): Locator {
    return this.page.getByRole('region', { name: section }).getByTestId('saved');
  }
  get projects(): Locator {
    return this.page.getByTestId('projects');
  }
  get credentials(): Locator {
    return this.page.getByTestId('credentials-storage');
  }
  get account(): Locator {
    return this.page.getByRole('region', { name: 'Account' });
  }
  get about(): Locator {
    return this.page.getByRole('region', { name: 'About' });
  }
  get dangerZone(): Locator {
    return this.page.getByRole('region', { name: 'Danger zone' });
  }
  fieldError(label: string): Locator {
    return this.page
      .locator('.field')
      .filter({ has: this.page.getByLabel(label, { exact: true }) })
      .locator('.field-error');
  }
}
