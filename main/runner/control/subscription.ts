import { connect } from 'node:net';
import { ControlResponse, Snapshot, SubscribeEvent } from './contract.ts';

/** A live `subscribe` connection to a daemon's control socket. */
export interface ControlSubscription {
  /** the daemon's state when the subscription started */
  readonly snapshot: Snapshot;
  /** Stop listening (closes the connection); `closed` resolves. */
  close(): void;
  /** resolves once the connection is gone, by either side (the daemon stopped or died, or `close()`) */
  readonly closed: Promise<void>;
}

export interface SubscribeOptions {
  /** each event, in the order the daemon sent them; lines that do not validate are skipped */
  onEvent(event: SubscribeEvent): void;
  /** how long to wait for the answer (default 3000 ms) */
  timeoutMs?: number;
}

/**
 * Subscribe to the daemon behind `path` (control socket protocol, contract.ts): resolves once it
 * answered with its state, or undefined when nobody listens there, it does not answer in time, or
 * it refused (a daemon too old to stream). Events then arrive through `onEvent` until either side
 * closes. Nothing is retried here: the caller decides what a closed stream means.
 */
export function subscribeControl(path: string, opts: SubscribeOptions): Promise<ControlSubscription | undefined> {
  return new Promise((resolve) => {
    const sock = connect(path);
    let buf = '';
    let started: ControlSubscription | undefined;
    let closedResolve!: () => void;
    const closed = new Promise<void>((r) => (closedResolve = r));
    const fail = (): void => {
      clearTimeout(timer);
      sock.destroy();
      resolve(undefined);
    };
    const timer = setTimeout(fail, opts.timeoutMs ?? 3000);
    sock.setEncoding('utf8');
    sock.on('error', () => sock.destroy());
    sock.on('close', () => {
      if (!started) fail();
      closedResolve();
    });
    sock.on('connect', () => sock.write(JSON.stringify({ id: 1, method: 'subscribe' }) + '\n'));
    sock.on('data', (chunk: string) => {
      buf += chunk;
      for (let nl = buf.indexOf('\n'); nl !== -1; nl = buf.indexOf('\n')) {
        const line = buf.slice(0, nl);
        buf = buf.slice(nl + 1);
        if (!started) {
          if (!accept(line)) return fail();
          continue;
        }
        const event = SubscribeEvent.safeParse(parseJson(line));
        if (event.success) opts.onEvent(event.data);
      }
    });
    function accept(line: string): boolean {
      const res = ControlResponse.safeParse(parseJson(line));
      if (!res.success || !res.data.ok) return false;
      const snapshot = Snapshot.safeParse(res.data.result);
      if (!snapshot.success) return false;
      clearTimeout(timer);
      started = { snapshot: snapshot.data, close: () => sock.destroy(), closed };
      resolve(started);
      return true;
    }
  });
}

function parseJson(line: string): unknown {
  try {
    return JSON.parse(line);
  } catch {
    return undefined;
  }
}
