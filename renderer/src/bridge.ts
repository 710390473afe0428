import type { EventChannel, EventPayload, RequestChannel, RequestInput, RequestOutput, SibylBridge } from '../../preload/contract.ts';

/** The renderer's only way out: the preload's `window.sibyl`, typed by the contract. */
declare global {
  interface Window {
    sibyl: SibylBridge;
  }
}

/** A request main answered with `{ ok: false }`: `code` says which step or field it concerns. */
export class BridgeError extends Error {
  readonly code: string;
  constructor(code: string, message: string) {
    super(message);
    this.name = 'BridgeError';
    this.code = code;
  }
}

/** Invoke a channel and unwrap the result; errors-as-data become a `BridgeError` for the caller's try/catch. */
export async function call<C extends RequestChannel>(channel: C, input: RequestInput<C>): Promise<RequestOutput<C>> {
  const result = await window.sibyl.invoke(channel, input);
  if (!result.ok) throw new BridgeError(result.error.code, result.error.message);
  return result.value;
}

export function on<E extends EventChannel>(event: E, listener: (payload: EventPayload<E>) => void): () => void {
  return window.sibyl.on(event, listener);
}

export function messageOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

export function codeOf(err: unknown): string {
  return err instanceof BridgeError ? err.code : 'failed';
}
