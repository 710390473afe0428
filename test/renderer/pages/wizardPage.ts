import type { Locator, Page } from 'playwright-core';

/** The registration wizard, found the way a person finds it: by labels, roles and visible text. */
export class WizardPage {
  readonly page: Page;
  constructor(page: Page) {
    this.page = page;
  }

  get heading(): Locator {
    return this.page.locator('.wizard-panel h2');
  }
  get serverUrl(): Locator {
    return this.page.getByLabel('Sibyl server URL');
  }
  get checkButton(): Locator {
    return this.page.getByRole('button', { name: 'Check', exact: true });
  }
  get checkResult(): Locator {
    return this.page.locator('.check-result');
  }
  get continueButton(): Locator {
    return this.page.getByRole('button', { name: 'Continue' });
  }
  get backButton(): Locator {
    return this.page.getByRole('button', { name: 'Back' });
  }
  /** The inline error under a labelled field. */
  fieldError(label: string): Locator {
    return this.page
      .locator('.field')
      .filter({ has: this.page.getByLabel(label, { exact: true }) })
      .locator('.field-error');
  }
  step(name: string): Locator {
    return this.page.getByRole('navigation', { name: 'Setup steps' }).getByText(name);
  }

  async checkServer(url: string): Promise<void> {
    await this.serverUrl.fill(url);
    await this.checkButton.click();
  }

  // Step 2
  get signInWithBrowserButton(): Locator {
    return this.page.getByRole('button', { name: 'Sign in with browser' });
  }
  get userCode(): Locator {
    return this.page.getByTestId('user-code');
  }
  get deviceState(): Locator {
    return this.page.getByTestId('device-state');
  }
  get signedIn(): Locator {
    return this.page.getByTestId('signed-in');
  }
  /** The sign-in page's address: a link to the system browser. */
  get verificationLink(): Locator {
    return this.page.getByTestId('verification-link');
  }
  /** "The code expires in m:ss", counting down. */
  get deviceExpiry(): Locator {
    return this.page.getByTestId('device-expiry');
  }
  async useToken(token: string): Promise<void> {
    await this.page.getByRole('radio', { name: 'Use a token' }).check();
    await this.page.getByLabel('Access token or API key').fill(token);
    await this.page.getByRole('button', { name: 'Use this token' }).click();
  }

  // Step 3
  get runnerName(): Locator {
    return this.page.getByLabel('Runner name');
  }
  get maxAgents(): Locator {
    return this.page.getByLabel('Maximum concurrent agents');
  }
  get worktreeFolder(): Locator {
    return this.page.getByLabel('Worktree folder');
  }
  capability(name: string): Locator {
    return this.page.getByRole('checkbox', { name: new RegExp(`^${name}( \\(detected\\))?$`) });
  }
  async addCapability(name: string): Promise<void> {
    await this.page.getByLabel('Add a capability').fill(name);
    await this.page.getByRole('button', { name: 'Add', exact: true }).click();
  }
  async chooseFolder(): Promise<void> {
    await this.page.getByRole('button', { name: 'Choose…' }).click();
  }

  // Step 4
  get registerButton(): Locator {
    return this.page.getByRole('button', { name: 'Register and connect' });
  }
  get connectStatus(): Locator {
    return this.page.getByTestId('connect-status');
  }
  get runnerId(): Locator {
    return this.page.getByTestId('runner-id');
  }
  get nextSteps(): Locator {
    return this.page.getByTestId('next-steps');
  }
  get panel(): Locator {
    return this.page.locator('.wizard-panel');
  }
  get registrationError(): Locator {
    return this.page.locator('.wizard-panel [role="alert"]');
  }
  async openDashboard(): Promise<void> {
    await this.page.getByRole('button', { name: 'Open dashboard' }).click();
  }
}
