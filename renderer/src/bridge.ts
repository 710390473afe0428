import type {
  EventChannel,
  EventPayload,
  IpcError,
  RequestChannel,
  RequestInput,
  RequestOutput,
  SibylBridge,
} from '../../preload/contract.ts';
import { describeProblem, type Problem } from './problemWords.ts';

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

/**
 * What went wrong in the window's words (problemWords.ts): a BridgeError by its code, anything
 * else (a bug, a dropped bridge) as an internal error. The core's message goes to `details`.
 */
export function problemOf(err: unknown): Problem {
  if (err instanceof BridgeError) return describeProblem(err);
  return describeProblem({ code: 'failed', message: err instanceof Error ? err.message : String(err) });
}

/**
 * A problem as one sentence, for places without room for a button (a field's error line). Where
 * the remedy matters, show `problemBox(problemOf(err), …)` instead, which offers it as a button.
 */
export function messageOf(err: unknown): string {
  return problemOf(err).text;
}

export function codeOf(err: unknown): string {
  return err instanceof BridgeError ? err.code : 'failed';
}
