import type { Locator, Page } from 'playwright-core';

/** The history table with its search, status filter and pager. */
export class HistoryPage {
  readonly page: Page;
  constructor(page: Page) {
    this.page = page;
  }

  async open(): Promise<void> {
    await this.page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'History' }).click();
  }
  get search(): Locator {
    return this.page.getByLabel('Search');
  }
  get status(): Locator {
    return this.page.getByLabel('Status');
  }
  get count(): Locator {
    return this.page.getByTestId('history-count');
  }
  get rows(): Locator {
    return this.page.getByTestId('history-table').locator('tbody tr');
  }
  row(taskId: string): Locator {
    return this.page.locator(`tr[data-task-id="${taskId}"]`);
  }
  /** The line under a task that did not complete saying why ("At capacity (3/3)"). */
  reason(taskId: string): Locator {
    return this.row(taskId).getByTestId('task-reason');
  }
  /** Newer / Older: only there when there is more than one page. */
  get pager(): Locator {
    return this.page.getByRole('navigation', { name: 'Pages' });
  }
  /** A row's cell in the column with this heading (the table's columns are found by their headers, not by position). */
  async cell(taskId: string, column: string): Promise<Locator> {
    await this.row(taskId).waitFor();
    const headers = (await this.page.getByTestId('history-table').locator('thead th').allTextContents()).map((t) => t.trim());
    const i = headers.indexOf(column);
    if (i < 0) throw new Error(`no "${column}" column among ${headers.join(', ')}`);
    return this.row(taskId).locator('td').nth(i);
  }
  async openTask(taskId: string): Promise<void> {
    await this.row(taskId).getByRole('link').click();
  }
}
