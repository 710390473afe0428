import type { AppState } from '../../preload/contract.ts';
import { call, on } from './bridge.ts';

type Listener = (state: AppState) => void;

/**
 * Main owns state; this is only the latest copy of it. The renderer asks once, then follows the
 * versioned `app:state` pushes. A state whose version is not newer than ours (a late reply, a
 * duplicate push) is ignored, so the view can never step back in time.
 */
export class AppStateView {
  private state: AppState | null = null;
  private readonly listeners = new Set<Listener>();

  /** Subscribe to pushes first, then ask: a push that races the first answer is not lost. */
  async start(): Promise<AppState> {
    on('app:state', (s) => this.accept(s));
    this.accept(await call('app:state', {}));
    return this.current();
  }

  current(): AppState {
    if (!this.state) throw new Error('app state read before start()');
    return this.state;
  }

  /** Apply a state from a push or from a request that answers with one (pause, sign out…). */
  accept(next: AppState): void {
    if (this.state && next.version <= this.state.version) return;
    this.state = next;
    for (const listener of [...this.listeners]) listener(next);
  }

  subscribe(listener: Listener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }
}
