import type { Locator, Page } from 'playwright-core';

/** One past task: summary facts, the agent's report, prompt, command, commits and the searchable log. */
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
  /** A fact by its label: in the key facts strip, else among the ids and times under "Details". */
  fact(label: string): Locator {
    return this.page.locator(`:is([data-testid="task-facts"], [data-testid="task-ids"]) dt:text-is("${label}") + dd`).first();
  }
  /** What happened, why, and what to do: the banner at the top. */
  get outcome(): Locator {
    return this.page.getByTestId('outcome');
  }
  get outcomeTitle(): Locator {
    return this.page.getByTestId('outcome-title');
  }
  get outcomeTodo(): Locator {
    return this.page.getByTestId('outcome-todo');
  }
  /** The folded group with the folder, the log file and the git details. */
  get gitDetails(): Locator {
    return this.page.getByTestId('git-details');
  }
  /** What the agent reported: facts, its final message, refused permissions. */
  get agent(): Locator {
    return this.page.getByRole('region', { name: 'Agent' });
  }
  agentFact(label: string): Locator {
    return this.page.getByTestId('agent-facts').locator(`dt:text-is("${label}") + dd`);
  }
  get agentSummary(): Locator {
    return this.page.getByTestId('agent-summary');
  }
  get permissionDenials(): Locator {
    return this.page.getByTestId('permission-denials').getByRole('listitem');
  }
  /** What the agent said and did: messages and steps, each step opening to its detail. */
  get transcript(): Locator {
    return this.page.getByRole('region', { name: 'Transcript' });
  }
  get transcriptEntries(): Locator {
    return this.page.getByTestId('transcript').locator(':scope > li');
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
