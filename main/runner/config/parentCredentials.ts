import * as z from 'zod';
import { errorMessage, REMEDIES, remedyOf, RunnerError } from '../errors.ts';
import { Credentials, type CredentialStore } from './credentials.ts';

/**
 * The desktop app runs the core as a child process (`sibyl-runner run`, issue 14 item 7) but keeps
 * its own credentials (OS-encrypted, main/desktop/vault.ts; item 3: the CLI's credentials.json is
 * never the app's). With this environment variable set to `parent`, `run` reads and saves its
 * credentials by asking the process that started it, over the child's IPC channel (Electron's
 * utilityProcess: `process.parentPort`; Node's fork: `process.send`), and never opens a file.
 */
export const PARENT_CREDENTIALS_ENV = 'SIBYL_CREDENTIALS_FROM';

/** child → parent */
export const CredentialRequest = z.discriminatedUnion('op', [
  z.object({ sibyl: z.literal('credentials'), id: z.number().int(), op: z.literal('load') }),
  z.object({ sibyl: z.literal('credentials'), id: z.number().int(), op: z.literal('save'), credentials: Credentials }),
]);
export type CredentialRequest = z.infer<typeof CredentialRequest>;

/** parent → child: the credentials (load), or why the store failed, as the child raises it */
export const CredentialAnswer = z.union([
  z.object({ sibyl: z.literal('credentials'), id: z.number().int(), ok: z.literal(true), credentials: Credentials.optional() }),
  z.object({
    sibyl: z.literal('credentials'),
    id: z.number().int(),
    ok: z.literal(false),
    error: z.object({ code: z.string(), message: z.string(), remedy: z.enum(REMEDIES) }),
  }),
]);
export type CredentialAnswer = z.infer<typeof CredentialAnswer>;

/** Whether `run` was asked to use its parent's credentials (the desktop app sets this for its core). */
export function parentCredentialsRequested(env: Record<string, string | undefined>): boolean {
  return env[PARENT_CREDENTIALS_ENV] === 'parent';
}

/** A message channel to the parent process. */
export interface ParentChannel {
  send(msg: unknown): void;
  /** listen until the returned function is called (a listener keeps the channel, and the process, alive) */
  listen(fn: (msg: unknown) => void): () => void;
}

interface UtilityParentPort {
  postMessage(msg: unknown): void;
  on(event: 'message', fn: (e: { data: unknown }) => void): unknown;
  off(event: 'message', fn: (e: { data: unknown }) => void): unknown;
}

/** This process's channel to its parent: Electron's utilityProcess parentPort, else Node's fork IPC; undefined when there is none. */
export function parentChannel(proc: NodeJS.Process = process): ParentChannel | undefined {
  const port = (proc as NodeJS.Process & { parentPort?: UtilityParentPort }).parentPort;
  if (port) {
    return {
      send: (msg) => port.postMessage(msg),
      listen: (fn) => {
        const onMessage = (e: { data: unknown }): void => fn(e.data);
        port.on('message', onMessage);
        return () => void port.off('message', onMessage);
      },
    };
  }
  const send = proc.send?.bind(proc);
  if (!send || !proc.connected) return undefined;
  return {
    send: (msg) => {
      // The app went away (it quit or crashed): say so; a send without a callback would raise 'error' on process.
      if (!proc.connected) throw new RunnerError('credentials_channel_closed', 'the desktop app that started this runner is gone');
      send(msg, undefined, {}, () => undefined);
    },
    listen: (fn) => {
      const onMessage = (msg: unknown): void => fn(msg);
      proc.on('message', onMessage);
      return () => void proc.off('message', onMessage);
    },
  };
}

/**
 * The credential store of a core started by the desktop app: every load and save is a request to
 * the parent, answered from the app's own store. Raises RunnerError `credentials_channel_missing`
 * at construction when this process has no parent channel (started by hand with the variable
 * set), `credentials_unanswered` when the parent does not answer within `timeoutMs`, and the
 * parent store's own error (code and remedy kept: a locked keyring stays `keyring_unavailable`).
 */
export class ParentCredentialStore implements CredentialStore {
  readonly #channel: ParentChannel;
  readonly #timeoutMs: number;
  #nextId = 1;

  constructor(channel: ParentChannel | undefined = parentChannel(), timeoutMs = 10_000) {
    if (!channel)
      throw new RunnerError(
        'credentials_channel_missing',
        `${PARENT_CREDENTIALS_ENV}=parent is set, but this process was not started by the desktop app (it has no channel to a parent process); unset it to use credentials.json`,
        { exitCode: 2, context: { variable: PARENT_CREDENTIALS_ENV } },
      );
    this.#channel = channel;
    this.#timeoutMs = timeoutMs;
  }

  async load(): Promise<Credentials> {
    return (await this.#ask({ op: 'load' })) ?? {};
  }

  async save(creds: Credentials): Promise<void> {
    await this.#ask({ op: 'save', credentials: Credentials.parse(creds) });
  }

  describe(): string {
    return "the desktop app's store (asked over its channel to this process)";
  }

  #ask(req: { op: 'load' } | { op: 'save'; credentials: Credentials }): Promise<Credentials | undefined> {
    const id = this.#nextId++;
    return new Promise((resolve, reject) => {
      const stop = this.#channel.listen((msg) => {
        const answer = CredentialAnswer.safeParse(msg);
        if (!answer.success || answer.data.id !== id) return;
        done();
        if (answer.data.ok) resolve(answer.data.credentials);
        else reject(new RunnerError(answer.data.error.code, answer.data.error.message, { remedy: answer.data.error.remedy }));
      });
      const timer = setTimeout(() => {
        done();
        reject(
          new RunnerError('credentials_unanswered', `the desktop app did not answer a credentials ${req.op} request`, { remedy: 'retry' }),
        );
      }, this.#timeoutMs);
      const done = (): void => {
        clearTimeout(timer);
        stop();
      };
      try {
        this.#channel.send({ sibyl: 'credentials', id, ...req } satisfies CredentialRequest);
      } catch (err) {
        done();
        reject(err instanceof Error ? err : new Error(String(err)));
      }
    });
  }
}

/**
 * The parent's side: the answer to `msg` from `store`, or undefined when `msg` is not a
 * credentials request (the channel may carry other messages). Never throws: a store error is
 * answered as such.
 */
export async function answerCredentialRequest(store: CredentialStore, msg: unknown): Promise<CredentialAnswer | undefined> {
  const req = CredentialRequest.safeParse(msg);
  if (!req.success) return undefined;
  const { id } = req.data;
  try {
    if (req.data.op === 'load') return { sibyl: 'credentials', id, ok: true, credentials: await store.load() };
    await store.save(req.data.credentials);
    return { sibyl: 'credentials', id, ok: true };
  } catch (err) {
    const code = err instanceof RunnerError ? err.code : 'credentials_unreadable';
    return { sibyl: 'credentials', id, ok: false, error: { code, message: errorMessage(err), remedy: remedyOf(err) } };
  }
}
