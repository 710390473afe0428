import type { AppStateView } from './appState.ts';
import type { LiveLogs } from './liveLogs.ts';

/** What every screen gets: the state it follows, the live logs, and a way to move elsewhere. */
export interface ScreenContext {
  app: AppStateView;
  logs: LiveLogs;
  navigate(hash: string): void;
}

/** A mounted screen: its root element and a dispose that drops timers and subscriptions. */
export interface Screen {
  el: HTMLElement;
  dispose(): void;
}

/** Collects the undo functions of a screen's subscriptions and timers. */
export class Disposer {
  private readonly undo: (() => void)[] = [];
  add(fn: () => void): void {
    this.undo.push(fn);
  }
  interval(fn: () => void, ms: number): void {
    const timer = setInterval(fn, ms);
    this.add(() => clearInterval(timer));
  }
  timeout(fn: () => void, ms: number): void {
    const timer = setTimeout(fn, ms);
    this.add(() => clearTimeout(timer));
  }
  dispose(): void {
    for (const fn of this.undo.splice(0).reverse()) fn();
  }
}

/**
 * How long after a task leaves the running set its history row can still be on its way: history
 * writes are batched after the state push (and done by another process when the window is
 * attached to a headless runner). Lists that follow the running set ask now and once more then.
 */
export const HISTORY_SETTLE_MS = 1000;

/** Run `fn` now and once more when the history has settled. */
export function refreshHistoryView(d: Disposer, fn: () => void): void {
  fn();
  d.timeout(fn, HISTORY_SETTLE_MS);
}
