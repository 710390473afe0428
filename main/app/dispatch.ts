import { errorMessage, RunnerError } from '../runner/errors.ts';
import { logger } from '../runner/logger.ts';
import { isRequestChannel, parseInput, requests, type Handlers, type IpcResult, type RequestChannel } from '../../preload/contract.ts';

const log = logger('ipc');

/** A handler for every request channel, each made by `make` (a table that forwards or refuses them all). */
export function everyChannel(make: (channel: RequestChannel) => (input: unknown) => Promise<unknown>): Handlers {
  const channels = Object.keys(requests) as RequestChannel[];
  return Object.fromEntries(channels.map((c) => [c, make(c)])) as Handlers;
}

/**
 * The one entry for every renderer request (Electron's ipcMain and the browser tests alike):
 * checks the channel, parses the input with the contract, runs the handler and returns errors
 * as data, never as exceptions thrown across the boundary.
 */
export async function dispatch(handlers: Handlers, channel: unknown, input: unknown): Promise<IpcResult<unknown>> {
  if (!isRequestChannel(channel))
    return { ok: false, error: { code: 'unknown_channel', message: `unknown channel ${JSON.stringify(String(channel)).slice(0, 80)}` } };
  const parsed = parseInput(channel, input);
  if (!parsed.ok) return parsed;
  try {
    const handler = handlers[channel] as (i: unknown) => Promise<unknown>;
    const value = await handler(parsed.value);
    return { ok: true, value: checkOutput(channel, value) };
  } catch (err) {
    if (!(err instanceof RunnerError)) {
      log.error('request failed', { channel, error: err });
      return { ok: false, error: { code: 'failed', message: errorMessage(err), remedy: 'retry' } };
    }
    return { ok: false, error: { code: err.code, message: err.message, remedy: err.remedy, ...detailOf(err) } };
  }
}

/** Where it happened (file, key, url…), for the window's "Details" disclosure. */
export function detailOf(err: RunnerError): { detail?: string } {
  const parts = Object.entries(err.context)
    .filter(([, v]) => v !== undefined)
    .map(([k, v]) => `${k}: ${String(v)}`);
  return parts.length ? { detail: parts.join('\n') } : {};
}

/** Outputs are checked too: a handler that breaks the contract fails loudly here, not in the UI. */
function checkOutput(channel: RequestChannel, value: unknown): unknown {
  const parsed = requests[channel].output.safeParse(value);
  if (!parsed.success)
    throw new RunnerError(
      'bad_output',
      `${channel} produced an invalid result: ${parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`,
    );
  return parsed.data;
}
