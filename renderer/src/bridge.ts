import type {
  EventChannel,
  EventPayload,
  IpcError,
  RequestChannel,
  RequestInput,
  RequestOutput,
  SibylBridge,
} from '../../preload/contract.ts';
import { remedyAction } from '../../main/runner/vocabulary.ts';

/** The renderer's only way out: the preload's `window.sibyl`, typed by the contract. */
declare global {
  interface Window {
    sibyl: SibylBridge;
  }
}

/** A request main answered with `{ ok: false }`: `code` says which step or field it concerns, `remedy` what fixes it. */
export class BridgeError extends Error {
  readonly code: string;
  readonly remedy: IpcError['remedy'];
  readonly detail: string | undefined;
  constructor(error: IpcError) {
    super(error.message);
    this.name = 'BridgeError';
    this.code = error.code;
    this.remedy = error.remedy;
    this.detail = error.detail;
  }
}

/** Invoke a channel and unwrap the result; errors-as-data become a `BridgeError` for the caller's try/catch. */
export async function call<C extends RequestChannel>(channel: C, input: RequestInput<C>): Promise<RequestOutput<C>> {
  const result = await window.sibyl.invoke(channel, input);
  if (!result.ok) throw new BridgeError(result.error);
  return result.value;
}

export function on<E extends EventChannel>(event: E, listener: (payload: EventPayload<E>) => void): () => void {
  return window.sibyl.on(event, listener);
}

/** What went wrong and, when main named a remedy, what to do: "… — sign in again". */
export function messageOf(err: unknown): string {
  if (!(err instanceof Error)) return String(err);
  // A field error already says what to correct next to the field.
  const action = err instanceof BridgeError && err.remedy && err.remedy !== 'checkInput' ? remedyAction(err.remedy) : '';
  return action ? `${err.message} — ${action.charAt(0).toLowerCase()}${action.slice(1)}` : err.message;
}

export function codeOf(err: unknown): string {
  return err instanceof BridgeError ? err.code : 'failed';
}
