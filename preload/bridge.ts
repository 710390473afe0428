import type { EventChannel, EventPayload, IpcResult, RequestChannel, RequestInput, RequestOutput, SibylBridge } from './contract.ts';
import { EVENT_CHANNEL, EVENT_NAMES, INVOKE_CHANNEL } from './channels.ts';

export interface IpcRendererLike {
  invoke(channel: string, ...args: unknown[]): Promise<unknown>;
  on(channel: string, listener: (event: unknown, ...args: unknown[]) => void): unknown;
}

/**
 * `window.sibyl`: exactly the contract, nothing more. No ipcRenderer, no event objects and no
 * process state cross into the page; `on` returns its own unsubscribe function.
 */
export function createBridge(ipc: IpcRendererLike): SibylBridge {
  const listeners = new Map<string, Set<(payload: never) => void>>();
  ipc.on(EVENT_CHANNEL, (_event, name, payload) => {
    if (typeof name !== 'string') return;
    for (const l of listeners.get(name) ?? []) l(payload as never);
  });
  const bridge: SibylBridge = {
    invoke<C extends RequestChannel>(channel: C, input: RequestInput<C>): Promise<IpcResult<RequestOutput<C>>> {
      return ipc.invoke(INVOKE_CHANNEL, channel, input) as Promise<IpcResult<RequestOutput<C>>>;
    },
    on<E extends EventChannel>(event: E, listener: (payload: EventPayload<E>) => void): () => void {
      if (!(EVENT_NAMES as readonly string[]).includes(event)) throw new Error(`unknown event ${String(event)}`);
      let set = listeners.get(event);
      if (!set) listeners.set(event, (set = new Set()));
      const l = listener as (payload: never) => void;
      set.add(l);
      return () => void set.delete(l);
    },
  };
  return Object.freeze(bridge);
}
