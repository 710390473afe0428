import type { AppState, LogLine } from '../../preload/contract.ts';
import { call, messageOf } from './bridge.ts';
import { h, setText } from './dom.ts';
import { duration, promptSummary, taskPhaseLabel } from '../../main/runner/vocabulary.ts';
import { statusBadge } from './format.ts';
import { stepDuration, stepMark } from './stepMark.ts';
import { shortProject } from './taskRowParts.ts';

type RunningTask = NonNullable<AppState['daemon']>['running'][number];
type Step = NonNullable<RunningTask['steps']>[number];
const TAIL_LINES = 40;
/** The newest steps shown on the card; older ones (the view keeps 30) fold under "N earlier steps". */
const VISIBLE_STEPS = 8;

/**
 * One running task on the dashboard. Built once per task and then updated in place (activity,
 * phase, elapsed, timeline, log tail), so a focused button keeps its focus while the task streams.
 */
export class TaskCard {
  readonly el: HTMLElement;
  private task: RunningTask;
  private readonly phase = h('span');
  private readonly elapsed = h('span', { class: 'elapsed mono', 'data-testid': 'elapsed' });
  private readonly activity = h('p', { class: 'activity', 'data-testid': 'activity' });
  private readonly earlierCount = h('span');
  private readonly earlierSteps = h('ol', { class: 'step-list' });
  // A <details> kept across updates, so a person who opened it keeps it open while steps arrive.
  private readonly earlier = h('details', { class: 'steps-earlier' }, h('summary', null, this.earlierCount), this.earlierSteps);
  private readonly recentSteps = h('ol', { class: 'step-list' });
  private readonly timeline = h(
    'div',
    { class: 'timeline', role: 'group', 'aria-label': 'Steps', 'data-testid': 'timeline' },
    this.earlier,
    this.recentSteps,
  );
  /** what the timeline shows now, to redraw only when a step changed */
  private stepsKey: string | null = null;
  /** the durations that tick: steps still running */
  private ticking: { el: HTMLElement; startedAt: number }[] = [];
  private readonly log = h('pre', { class: 'log tail', tabindex: '0', 'aria-label': 'Live output' });
  private readonly actions = h('div', { class: 'actions' });
  private readonly note = h('p', { class: 'field-error', role: 'alert' });
  private confirming = false;

  constructor(task: RunningTask) {
    this.task = task;
    const titleId = `task-${task.taskId}-title`;
    this.el = h(
      'article',
      { class: 'card task-card', 'aria-labelledby': titleId, 'data-task-id': task.taskId },
      h(
        'header',
        { class: 'task-head' },
        h('h3', { id: titleId, class: 'task-title', title: task.prompt }, promptSummary(task.prompt, 120)),
        this.phase,
        this.elapsed,
      ),
      h(
        'p',
        { class: 'small muted' },
        'Project ',
        h('span', { class: 'mono', title: task.projectId }, shortProject(task.projectId)),
        ' · task ',
        h('span', { class: 'mono' }, task.taskId.slice(0, 8)),
      ),
      this.activity,
      this.timeline,
      this.log,
      this.note,
      this.actions,
    );
    this.update(task);
  }

  update(task: RunningTask): void {
    this.task = task;
    this.phase.replaceChildren(statusBadge(task.phase));
    setText(
      this.activity,
      task.activity ? task.activity : task.phase === 'preparing' ? `${taskPhaseLabel('preparing')}…` : 'No activity reported yet.',
    );
    this.renderSteps(task.steps ?? []);
    this.tick(Date.now());
    if (!this.actions.contains(document.activeElement)) this.renderActions();
  }

  tick(now: number): void {
    setText(this.elapsed, duration((now - (this.task.startedAt ?? this.task.assignedAt)) / 1000));
    for (const t of this.ticking) setText(t.el, stepDuration(now - t.startedAt));
  }

  /** The agent's steps, newest at the bottom: the last VISIBLE_STEPS in view, the rest folded. */
  private renderSteps(steps: readonly Step[]): void {
    const key = steps.map((s) => `${s.id}\u0000${s.state}\u0000${s.endedAt ?? ''}\u0000${s.title}`).join('\u0001');
    if (key === this.stepsKey) return;
    this.stepsKey = key;
    this.timeline.hidden = steps.length === 0;
    const older = steps.slice(0, -VISIBLE_STEPS);
    this.earlier.hidden = older.length === 0;
    setText(this.earlierCount, `${older.length} earlier step${older.length === 1 ? '' : 's'}`);
    this.ticking = [];
    const now = Date.now();
    this.earlierSteps.replaceChildren(...older.map((s) => this.stepRow(s, now)));
    this.recentSteps.replaceChildren(...steps.slice(-VISIBLE_STEPS).map((s) => this.stepRow(s, now)));
  }

  private stepRow(step: Step, now: number): HTMLLIElement {
    const time = h('span', { class: 'step-time' }, stepDuration((step.endedAt ?? now) - step.startedAt));
    if (step.state === 'running') this.ticking.push({ el: time, startedAt: step.startedAt });
    return h(
      'li',
      { class: 'step', 'data-state': step.state },
      stepMark(step.state),
      h('span', { class: 'step-title', title: step.title }, step.title),
      time,
    );
  }

  setLines(lines: readonly LogLine[]): void {
    // Follow the end of the output unless the person scrolled up to read.
    const atEnd = this.log.scrollTop + this.log.clientHeight >= this.log.scrollHeight - 4;
    this.log.replaceChildren(
      ...lines.slice(-TAIL_LINES).map((l) => h('span', { class: l.stream === 'stderr' ? 'stderr' : null }, `${l.text}\n`)),
    );
    if (lines.length === 0) this.log.append(h('span', { class: 'muted' }, 'No output yet.'));
    if (atEnd) this.log.scrollTop = this.log.scrollHeight;
  }

  private renderActions(): void {
    const { taskId } = this.task;
    if (this.confirming) {
      const yes = h('button', { type: 'button', class: 'btn btn-danger btn-small', onclick: () => void this.cancel() }, 'Yes, cancel task');
      const no = h('button', { type: 'button', class: 'btn btn-small', onclick: () => this.confirm(false) }, 'Keep running');
      this.actions.replaceChildren(h('span', { class: 'small' }, 'Stop this agent? Its branch is kept.'), yes, no);
      yes.focus();
      return;
    }
    this.actions.replaceChildren(
      // Always offered: the folder may exist before a state push says so; main answers when it does not.
      h(
        'button',
        { type: 'button', class: 'btn btn-small', onclick: () => void this.run(call('tasks:openFolder', { taskId })) },
        'Open folder',
      ),
      h('button', { type: 'button', class: 'btn btn-small btn-danger', onclick: () => this.confirm(true) }, 'Cancel'),
    );
  }

  private confirm(on: boolean): void {
    this.confirming = on;
    this.renderActions();
    if (!on) this.actions.querySelector<HTMLButtonElement>('.btn-danger')?.focus();
  }

  private async cancel(): Promise<void> {
    this.actions.querySelectorAll('button').forEach((b) => (b.disabled = true));
    await this.run(call('tasks:cancel', { taskId: this.task.taskId }));
    this.confirming = false;
    setText(this.activity, 'Cancelling…');
  }

  private async run(request: Promise<unknown>): Promise<void> {
    try {
      await request;
      setText(this.note, '');
    } catch (err) {
      setText(this.note, messageOf(err));
      this.renderActions();
    }
  }
}
