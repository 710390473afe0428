import type { Locator, Page } from 'playwright-core';

/** One past task: summary facts, prompt, command, commits and the searchable log. */
export class TaskDetailPage {
  readonly page: Page;
  constructor(page: Page) {
    this.page = page;
  }

  get heading(): Locator {
    return this.page.getByRole('heading', { level: 1 });
  }
  get facts(): Locator {
    return this.page.getByTestId('task-facts');
  }
  fact(label: string): Locator {
    return this.facts.locator(`dt:text-is("${label}") + dd`);
  }
  get prompt(): Locator {
    return this.page.getByTestId('prompt');
  }
  get command(): Locator {
    return this.page.getByTestId('command');
  }
  get log(): Locator {
    return this.page.getByTestId('log');
  }
  get logInfo(): Locator {
    return this.page.getByTestId('log-info');
  }
  get logSearch(): Locator {
    return this.page.getByLabel('Find in log');
  }
  async back(): Promise<void> {
    await this.page.getByRole('link', { name: '← History' }).first().click();
  }
}
