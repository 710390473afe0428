import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import type { Locator } from 'playwright-core';
import YAML from 'yaml';
import { makeRepo } from '../helpers/gitRepo.ts';
import { ModelServer, say, type ScriptEntry, type Turn } from '../helpers/modelServer.ts';
import { chromiumPath, NO_CHROMIUM } from './chromium.ts';
import { expect } from './expect.ts';
import { openRenderer, REPO, type RendererFixture } from './fixture.ts';
import { noSidewaysScroll } from './layoutCheck.ts';
import { DashboardPage } from './pages/dashboardPage.ts';
import { TaskDetailPage } from './pages/taskDetailPage.ts';

const browser = chromiumPath();
const BIN = join(REPO, 'node_modules', '.bin');
const CLAUDE = join(BIN, 'claude');

/** What a screen reader says for each element: its text without the parts hidden from it (the marks). */
function spoken(items: Locator): Promise<string[]> {
  return items.evaluateAll((els) =>
    els.map((el) => {
      const copy = el.cloneNode(true) as Element;
      copy.querySelectorAll('[aria-hidden="true"]').forEach((hidden) => hidden.remove());
      return copy.textContent ?? '';
    }),
  );
}

/**
 * The real Claude Code CLI (devDependency) as this runner's agent, talking to the scripted model
 * server: runner.yaml names it and gives it the server's address, as a user's would give a key.
 */
async function useClaudeCode(fx: RendererFixture, runnerId: string, server: ModelServer): Promise<void> {
  const agentHome = join(fx.home, 'agent');
  mkdirSync(join(agentHome, 'tmp'), { recursive: true });
  const configPath = join(fx.home, '.config', 'sibyl-runner', 'runner.yaml');
  const file = YAML.parse(readFileSync(configPath, 'utf8')) as Record<string, unknown>;
  const env = {
    PATH: `${BIN}:${process.env.PATH ?? '/usr/bin:/bin'}`,
    TMPDIR: join(agentHome, 'tmp'),
    LANG: 'C.UTF-8',
    CLAUDE_CONFIG_DIR: join(agentHome, '.claude'),
    ANTHROPIC_BASE_URL: server.url,
    ANTHROPIC_API_KEY: 'sk-ant-test-not-a-key',
    CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC: '1',
    HTTPS_PROXY: server.url,
    HTTP_PROXY: server.url,
    NO_PROXY: '127.0.0.1,localhost',
  };
  writeFileSync(
    configPath,
    YAML.stringify({
      ...file,
      agent: 'claude-code',
      agents: { 'claude-code': { command: CLAUDE, env, allowed_commands: ['ls', 'cat', 'git status', 'node wait-for-review.js'] } },
    }),
  );
  await fx.call('runner:restart', {});
  await fx.core.until(() => fx.core.connected(runnerId), 5000, 'the runner to reconnect');
}

const tools = (text: string | undefined, ...calls: { name: string; input: Record<string, string> }[]): Turn => ({
  kind: 'tools',
  calls,
  ...(text ? { text } : {}),
});

test(
  'a Claude Code task: its steps live on the running card (newest 8, the rest folded), then its transcript in the task detail',
  {
    skip: !browser ? NO_CHROMIUM : existsSync(CLAUDE) ? false : 'the Claude Code CLI (a devDependency) is not installed',
    timeout: 120_000,
  },
  async (t) => {
    const fx = await openRenderer(browser!);
    const runnerId = await fx.registerDirectly('timeline-desk');
    const taskId = crypto.randomUUID();
    const worktree = join(fx.home, 'worktrees', 'project_1', taskId);
    // A deep folder: the step's title is longer than the window is wide.
    const deep = join(worktree, 'packages', 'authentication-service-with-a-very-long-name', 'src', 'session-refresh-handling');
    const script: ScriptEntry[] = [
      tools('I will look at the project first.', { name: 'Read', input: { file_path: join(worktree, 'README.md') } }),
      tools(undefined, { name: 'Bash', input: { command: 'ls', description: 'List files' } }),
      tools(undefined, { name: 'Write', input: { file_path: join(deep, 'refresh-token-rotation-notes.md'), content: 'Rotate on use.\n' } }),
      tools(undefined, {
        name: 'Bash',
        input: { command: `ls ${'no-such-folder-'.repeat(12)}`, description: 'A folder that is not there' },
      }),
      tools(undefined, { name: 'Read', input: { file_path: join(deep, 'refresh-token-rotation-notes.md') } }),
      tools(undefined, {
        name: 'Edit',
        input: { file_path: join(worktree, 'README.md'), old_string: '# test', new_string: '# test project' },
      }),
      tools(undefined, { name: 'Bash', input: { command: 'cat README.md', description: 'Show the README' } }),
      tools(undefined, { name: 'Bash', input: { command: 'ls -la', description: 'List all files' } }),
      tools(undefined, { name: 'Bash', input: { command: 'git status', description: 'What changed' } }),
      // The last step runs until the test says the review is done: the card is looked at while it runs.
      tools(undefined, { name: 'Bash', input: { command: 'node wait-for-review.js', description: 'Wait for the review' } }),
      say('Updated the README and wrote notes on token rotation.'),
    ];
    const server = await ModelServer.start(script);
    t.after(() => server.close());
    await useClaudeCode(fx, runnerId, server);
    const repo = makeRepo(join(fx.home, 'code', 'webapp'), {
      files: {
        'README.md': '# test\n',
        'wait-for-review.js': [
          "const fs = require('node:fs');",
          'const timer = setInterval(() => {',
          "  if (!fs.existsSync('.review-done')) return;",
          "  fs.rmSync('.review-done');",
          '  clearInterval(timer);',
          "  console.log('reviewed');",
          '}, 50);',
        ].join('\n'),
      },
    });
    await fx.call('projects:link', { path: repo, projectId: 'project_1' });
    await fx.page.setViewportSize({ width: 640, height: 900 });
    await fx.page.reload();
    const dash = new DashboardPage(fx.page);
    await expect(dash.linkState).toHaveText('Connected');

    fx.core.send(runnerId, {
      type: 'task_assign',
      task_id: taskId,
      agent_id: 'agent_timelineabc',
      project_id: 'project_1',
      config: { prompt: 'Document token rotation in the README', agent_type: 'implementer' },
    });
    const card = dash.task(taskId);
    await expect(card.timeline).toBeVisible({ timeout: 15_000 });
    // Ten steps: the newest eight in view, newest at the bottom, two folded above them.
    await expect(card.visibleSteps).toHaveCount(8, { timeout: 15_000 });
    const waiting = card.visibleSteps.last();
    await expect(waiting).toContainText('Running: node wait-for-review.js', { timeout: 15_000 });
    await expect(waiting).toHaveAttribute('data-state', 'running');
    // A running step's time counts up with the card's clock.
    await expect(waiting.locator('.step-time')).toHaveText(/^[1-9]\d*s$/, { timeout: 5000 });
    await expect(card.visibleSteps.first()).toContainText('Writing packages/authentication-service-with-a-very-long-name/');
    await expect(card.earlierToggle).toHaveText('2 earlier steps');
    await expect(card.earlierSteps.first()).not.toBeVisible();
    const texts = await spoken(card.visibleSteps);
    // Each step says its state in words (for screen readers) and how long it took.
    assert.match(texts[0]!, /^Done: Writing packages\/.*refresh-token-rotation-notes\.md\d+s$/);
    assert.match(texts[1]!, /^Failed: Running: ls no-such-folder-/);
    assert.match(texts.at(-1)!, /^In progress: Running: node wait-for-review\.js\d+s$/);
    await expect(card.visibleSteps.nth(1)).toHaveAttribute('data-state', 'error');
    await noSidewaysScroll(fx.page, 'the dashboard with a running card');
    await card.earlierToggle.click();
    await expect(card.earlierSteps).toHaveCount(2);
    assert.deepEqual(await spoken(card.earlierSteps), ['Done: Reading README.md0s', 'Done: Running: ls0s']);
    await noSidewaysScroll(fx.page, 'the dashboard with the earlier steps open');
    await fx.screenshot('dashboard-timeline');

    writeFileSync(join(worktree, '.review-done'), '');
    await expect(waiting).toHaveAttribute('data-state', 'ok');
    const done = await fx.core.waitFor(
      (f) => f.message?.type === 'task_complete' && f.message.task_id === taskId,
      30_000,
      'the completion',
    );
    assert.equal(done.message?.type === 'task_complete' && done.message.success, true, JSON.stringify(done.message));
    assert.deepEqual(server.problems, []);

    // The detail: what the agent said and did, read back from the task's log.
    await fx.page.evaluate((id) => window.__sibylEmit('app:navigate', { route: 'task', taskId: id }), taskId);
    const detail = new TaskDetailPage(fx.page);
    await expect(detail.heading).toHaveText('Document token rotation in the README');
    await expect(detail.transcript).toBeVisible();
    const entries = detail.transcriptEntries;
    await expect(entries).toHaveCount(12);
    await expect(entries.first()).toContainText('I will look at the project first.');
    // Each step's line (its summary): the state in words, the title, how long it took.
    const steps = await spoken(entries.locator('.step'));
    assert.equal(steps.length, 10);
    assert.match(steps[0]!, /^Done: Reading README\.md\d+s$/);
    assert.match(steps[3]!, /^Failed: Running: ls no-such-folder-/);
    assert.match(steps[9]!, /^Done: Running: node wait-for-review\.js[1-9]\d*s$/);
    await expect(entries.nth(4)).toHaveAttribute('data-state', 'error');
    await expect(entries.last()).toContainText('Updated the README and wrote notes on token rotation.');
    // A step opens to what the tool was given and what it answered.
    const cat = entries.filter({ hasText: 'Running: cat README.md' });
    const catDetail = cat.locator('pre');
    await expect(catDetail).not.toBeVisible();
    await cat.locator('summary').click();
    await expect(catDetail).toBeVisible();
    await expect(catDetail).toContainText('command: cat README.md');
    await expect(catDetail).toContainText('# test project');
    const failed = entries.nth(4);
    await failed.locator('summary').click();
    await expect(failed.locator('pre')).toContainText(/No such file or directory/);
    await noSidewaysScroll(fx.page, 'the task detail with its transcript open');
    await fx.screenshot('task-detail-transcript');

    // A plain command's detail has no transcript: nothing new on its page.
    const plain = crypto.randomUUID();
    fx.core.send(runnerId, {
      type: 'task_assign',
      task_id: plain,
      agent_id: 'agent_plainplain',
      project_id: 'project_1',
      config: { prompt: 'Say hello', command: ['/bin/sh', '-c', 'echo hello'] },
    });
    await fx.core.waitFor((f) => f.message?.type === 'task_complete' && f.message.task_id === plain, 10_000, 'the command');
    const asked = fx.invoked.filter((c) => c === 'tasks:transcript').length;
    await fx.page.evaluate((id) => window.__sibylEmit('app:navigate', { route: 'task', taskId: id }), plain);
    await expect(detail.heading).toHaveText('Say hello');
    await expect(fx.page.locator('section.transcript:not([aria-busy])')).toHaveCount(1);
    assert.equal(fx.invoked.filter((c) => c === 'tasks:transcript').length, asked + 1);
    await expect(detail.transcript).toHaveCount(0);
    assert.deepEqual(fx.pageErrors, []);
  },
);
