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
  dispose(): void {
    for (const fn of this.undo.splice(0).reverse()) fn();
  }
}
