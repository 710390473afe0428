// Runs in the page (bundled by the fixture and added as an init script): the real preload bridge
// (`createBridge`) over a tiny IpcRendererLike whose two ends are Playwright's exposed binding
// (requests) and `__sibylEmit` (events pushed by the test process). So the browser tests exercise
// the same bridge object the Electron preload exposes, and the renderer sees nothing else.
import { createBridge, type IpcRendererLike } from '../../preload/bridge.ts';
import type { SibylBridge } from '../../preload/contract.ts';

type EventListener = (event: unknown, ...args: unknown[]) => void;

declare global {
  interface Window {
    sibyl: SibylBridge;
    __sibylInvoke(channel: unknown, input: unknown): Promise<unknown>;
    __sibylEmit(name: string, payload: unknown): void;
  }
}

const listeners: EventListener[] = [];
const ipc: IpcRendererLike = {
  invoke: (_channel, name, input) => window.__sibylInvoke(name, input),
  on: (_channel, listener) => listeners.push(listener),
};
Object.defineProperty(window, 'sibyl', { value: createBridge(ipc), enumerable: true });
Object.defineProperty(window, '__sibylEmit', {
  value: (name: string, payload: unknown) => {
    for (const l of listeners) l(null, name, payload);
  },
});
