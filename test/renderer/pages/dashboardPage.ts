import type { Locator, Page } from 'playwright-core';

/** The dashboard: runner status, capacity, today's totals, and one card per running task. */
export class DashboardPage {
  readonly page: Page;
  constructor(page: Page) {
    this.page = page;
  }

  async open(): Promise<void> {
    await this.page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Dashboard' }).click();
  }
  get heading(): Locator {
    return this.page.getByRole('heading', { level: 1, name: 'Dashboard' });
  }
  get linkState(): Locator {
    return this.page.getByTestId('link-state');
  }
  get linkReason(): Locator {
    return this.page.getByTestId('link-reason');
  }
  /** The connection panel: tinted by the state, with its reason, timing, actions and "Details". */
  get panel(): Locator {
    return this.page.getByTestId('connection');
  }
  /** "Attempt 2 · next try in 8s · last connected 3m ago" while retrying. */
  get linkTiming(): Locator {
    return this.page.getByTestId('link-timing');
  }
  get retryNow(): Locator {
    return this.page.getByTestId('retry-now');
  }
  /** "Agents in use" with its meter (only while a runner is there). */
  get capacityBlock(): Locator {
    return this.panel.locator('.capacity');
  }
  /** What the running list says when nothing runs (waiting, paused, or why no task can arrive). */
  get idle(): Locator {
    return this.page.getByTestId('running-empty');
  }
  get capacity(): Locator {
    return this.page.getByTestId('capacity');
  }
  get pauseButton(): Locator {
    return this.page.getByTestId('pause');
  }
  get runningSection(): Locator {
    return this.page.getByRole('region', { name: /^Running/ });
  }
  /** Today's totals: tasks finished, cost, tokens. */
  get today(): Locator {
    return this.page.getByRole('region', { name: 'Today' });
  }
  todayStat(name: 'tasks' | 'cost' | 'tokens'): Locator {
    return this.page.getByTestId(`today-${name}`);
  }
  get recent(): Locator {
    return this.page.getByRole('region', { name: /^Recently finished/ });
  }
  task(taskId: string): TaskCardPart {
    return new TaskCardPart(this.page.locator(`article[data-task-id="${taskId}"]`));
  }
}

export class TaskCardPart {
  readonly root: Locator;
  constructor(root: Locator) {
    this.root = root;
  }
  get title(): Locator {
    return this.root.locator('h3');
  }
  get activity(): Locator {
    return this.root.getByTestId('activity');
  }
  get elapsed(): Locator {
    return this.root.getByTestId('elapsed');
  }
  get log(): Locator {
    return this.root.getByLabel('Live output');
  }
  /** The agent's steps: the newest in view, older ones folded under "N earlier steps". */
  get timeline(): Locator {
    return this.root.getByRole('group', { name: 'Steps' });
  }
  /** The steps in view (not the folded ones), oldest first. */
  get visibleSteps(): Locator {
    return this.timeline.locator(':scope > ol > li');
  }
  get earlierSteps(): Locator {
    return this.timeline.locator('details > ol > li');
  }
  get earlierToggle(): Locator {
    return this.timeline.locator('details > summary');
  }
  get cancelButton(): Locator {
    return this.root.getByRole('button', { name: 'Cancel', exact: true });
  }
  get openFolderButton(): Locator {
    return this.root.getByRole('button', { name: 'Open folder' });
  }
}
