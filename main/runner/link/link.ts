import type { Socket } from 'node:net';
import WebSocket from 'ws';
import { errorCode, isTlsCode, unreachableWords } from '../api/networkError.ts';
import { requireSecureTransport } from '../config/serverUrl.ts';
import { errorMessage, remedyOf, RunnerError, ServerError, type Remedy } from '../errors.ts';
import { background, logger, type Logger } from '../logger.ts';
import { MESSAGE_BUDGET_BYTES } from '../protocol/messageBudget.ts';
import { redactUrlsIn } from '../redact.ts';
import { parseServerFrame, type DeliveryCheck, type ParsedInbound, type RunnerMessage, type ServerMessage } from '../protocol/messages.ts';
import { Backoff } from './backoff.ts';

export type LinkState = 'idle' | 'connecting' | 'open' | 'waiting' | 'auth_failed' | 'stopped';

export interface LinkStatus {
  state: LinkState;
  since: number;
  /** why the link is not open, if it is not: a fact in plain words, naming no command or button */
  reason: string | undefined;
  /** what the person can do about `reason`, when anything; each face words it (errors.ts) */
  remedy: Remedy | undefined;
  attempts: number;
  nextRetryAt: number | undefined;
  connectedAt: number | undefined;
  lastHeartbeatAt: number | undefined;
}

export interface LinkOptions {
  /** `wss://…`, or `ws://` to this machine; `ws://` to another host needs `allowInsecureHttp` (config/serverUrl.ts) */
  url: string;
  /** runner.yaml `allow_insecure_http`: let `ws://` reach another host (with a warning); default false */
  allowInsecureHttp?: boolean;
  /** Headers for each dial; Authorization is fetched fresh so a refreshed token is used. */
  headers: () => Promise<Record<string, string>>;
  onMessage: (msg: ServerMessage) => void;
  /** A text frame that is not a valid server message (the reason names what was wrong); default: logged. */
  onInvalid?: (frame: Extract<ParsedInbound, { ok: false }>) => void;
  /** Called on every successful (re)connect, before anything else is sent. */
  onOpen: () => void;
  onStatus?: (status: LinkStatus) => void;
  /** Called on an auth close (1008/4003). Return true when new credentials were obtained. */
  onAuthFailure?: (reason: string) => Promise<boolean>;
  backoffBaseMs?: number;
  backoffCapMs?: number;
  /** 0 = forever */
  maxAttempts?: number;
  pingIntervalMs?: number;
  /** The server's heartbeat interval; no heartbeat for 2.5× this ⇒ the link is treated as dead (§9 S4/S5). */
  heartbeatIntervalMs?: number;
  /** Wait after closing a live link before dialling again, so two connections never overlap (§4.3.2). */
  redialGraceMs?: number;
  log?: Logger;
}

const AUTH_CLOSE_CODES = new Set([1008, 4003]);

/**
 * The WebSocket link to Sibyl Core: one connection at a time, reconnecting forever (unless
 * capped) with jittered backoff; ping/pong and a heartbeat watchdog detect dead links.
 */
export class Link {
  readonly #o: Required<Omit<LinkOptions, 'onStatus' | 'onAuthFailure' | 'onInvalid' | 'log'>> &
    Pick<LinkOptions, 'onStatus' | 'onAuthFailure' | 'onInvalid'>;
  readonly #log: Logger;
  readonly #backoff: Backoff;
  #ws: WebSocket | undefined;
  /** the connection under #ws, from its upgrade (ws does not expose it) */
  #socket: Socket | undefined;
  #corked = false;
  #status: LinkStatus = {
    state: 'idle',
    since: Date.now(),
    reason: undefined,
    remedy: undefined,
    attempts: 0,
    nextRetryAt: undefined,
    connectedAt: undefined,
    lastHeartbeatAt: undefined,
  };
  #retryTimer: NodeJS.Timeout | undefined;
  #pingTimer: NodeJS.Timeout | undefined;
  #watchdog: NodeJS.Timeout | undefined;
  #awaitingPong = false;
  #stopping = false;
  #authRetried = false;

  /** Throws InsecureHttpError for `ws://` to another host unless `allowInsecureHttp`: the token would travel in clear. */
  constructor(opts: LinkOptions) {
    requireSecureTransport(opts.url, { allowInsecureHttp: opts.allowInsecureHttp ?? false });
    this.#o = {
      allowInsecureHttp: false,
      backoffBaseMs: 1000,
      backoffCapMs: 60_000,
      maxAttempts: 0,
      pingIntervalMs: 10_000,
      heartbeatIntervalMs: 30_000,
      redialGraceMs: 1500,
      ...opts,
    };
    this.#log = opts.log ?? logger('link');
    this.#backoff = new Backoff(this.#o.backoffBaseMs, this.#o.backoffCapMs);
  }

  get status(): LinkStatus {
    return { ...this.#status };
  }

  get isOpen(): boolean {
    return this.#ws?.readyState === WebSocket.OPEN && this.#status.state === 'open';
  }

  start(): void {
    this.#stopping = false;
    this.#redial();
  }

  /**
   * Send on the open link. Resolves true once ws has written the frame to the socket (not proof
   * that the server handled it: link/outbox.ts confirms that), false when there is no open link or
   * the write failed. Rejects with RunnerError `message_too_large` for a frame over
   * MESSAGE_BUDGET_BYTES: it could never be delivered (the caller fits messages first).
   */
  send(msg: RunnerMessage | DeliveryCheck): Promise<boolean> {
    const ws = this.#ws;
    if (!ws || !this.isOpen) return Promise.resolve(false);
    const frame = this.#frame(msg);
    if (frame === undefined)
      return Promise.reject(
        new RunnerError('message_too_large', `a ${msg.type} message is over the ${MESSAGE_BUDGET_BYTES}-byte limit`, {
          context: { type: msg.type },
        }),
      );
    this.#corkForThisTick();
    return new Promise((resolve) => {
      ws.send(frame, (err) => resolve(!err));
    });
  }

  /**
   * The frames sent in one turn of the event loop leave in one write (a task's ack and status,
   * results and the outbox's delivery check): each write to the socket is a system call and a
   * wake-up of the server (issue 16). Uncorked before the loop goes on (ws
   * corks each frame's header and payload itself; corks nest).
   */
  #corkForThisTick(): void {
    const socket = this.#socket;
    if (!socket || this.#corked || socket.destroyed) return;
    this.#corked = true;
    socket.cork();
    process.nextTick(() => {
      this.#corked = false;
      socket.uncork();
    });
  }

  /** Fire-and-forget send for messages that may be lost (heartbeat_ack, agent_update, status). */
  post(msg: RunnerMessage): boolean {
    const ws = this.#ws;
    if (!ws || !this.isOpen) return false;
    const frame = this.#frame(msg);
    if (frame === undefined) return false;
    this.#corkForThisTick();
    ws.send(frame);
    return true;
  }

  /** The frame's text, or undefined when it is over budget: the server would close the link with 1009 (§4.2). */
  #frame(msg: RunnerMessage | DeliveryCheck): string | undefined {
    const frame = JSON.stringify(msg);
    if (frame.length <= MESSAGE_BUDGET_BYTES / 3 || Buffer.byteLength(frame) <= MESSAGE_BUDGET_BYTES) return frame;
    this.#log.error('a message over the size limit was not sent', { type: msg.type, bytes: Buffer.byteLength(frame) });
    return undefined;
  }

  /** Re-check the link now (OS resumed, network changed): a quick ping, or dial at once if waiting. */
  kick(): void {
    if (this.#stopping) return;
    if (this.#status.state === 'waiting' || this.#status.state === 'auth_failed') {
      clearTimeout(this.#retryTimer);
      this.#redial();
    } else if (this.isOpen && !this.#awaitingPong) {
      this.#awaitingPong = true;
      this.#ws?.ping();
      clearTimeout(this.#pingTimer);
      this.#pingTimer = setTimeout(() => this.#checkPong(), Math.min(5000, this.#o.pingIntervalMs));
    }
  }

  /** Close cleanly (1000) and stop reconnecting. */
  async stop(): Promise<void> {
    this.#stopping = true;
    clearTimeout(this.#retryTimer);
    this.#clearLiveness();
    const ws = this.#ws;
    if (ws && ws.readyState !== WebSocket.CLOSED) {
      await new Promise<void>((resolve) => {
        const t = setTimeout(() => {
          ws.terminate();
          resolve();
        }, 2000);
        ws.once('close', () => {
          clearTimeout(t);
          resolve();
        });
        if (ws.readyState === WebSocket.CONNECTING) ws.terminate();
        else ws.close(1000, 'runner stopping');
      });
    }
    this.#set({ state: 'stopped', reason: 'the runner was stopped', remedy: undefined });
  }

  #set(change: Partial<LinkStatus>): void {
    // Every face shows the reason, and it may quote the URL ("refused the connection at ws://user:password@…").
    const patch = change.reason === undefined ? change : { ...change, reason: redactUrlsIn(change.reason) };
    const changed = patch.state !== undefined && patch.state !== this.#status.state;
    this.#status = { ...this.#status, ...patch, ...(changed ? { since: Date.now() } : {}) };
    if (changed || patch.reason !== undefined) this.#o.onStatus?.(this.status);
  }

  #redial(): void {
    background(this.#log, 'connect', this.#dial());
  }

  async #dial(): Promise<void> {
    if (this.#stopping) return;
    this.#set({ state: 'connecting', nextRetryAt: undefined, attempts: this.#backoff.attempts });
    let headers: Record<string, string>;
    try {
      headers = await this.#o.headers();
    } catch (err) {
      // A server or network failure while refreshing is not a refused sign-in: retry like a failed dial.
      if (err instanceof ServerError) this.#failed(`could not refresh the sign-in: ${errorMessage(err)}`, false, remedyOf(err));
      else this.#failed(`no usable credentials: ${errorMessage(err)}`, true, remedyOf(err) === 'none' ? 'signIn' : remedyOf(err));
      return;
    }
    if (this.#stopping) return;
    const ws = new WebSocket(this.#o.url, { headers, perMessageDeflate: false, maxPayload: 64 * 1024 * 1024, handshakeTimeout: 15_000 });
    this.#ws = ws;
    this.#socket = undefined;
    ws.once('upgrade', (res) => {
      if (this.#ws === ws) this.#socket = res.socket;
    });
    let opened = false;
    let closeReason: string | undefined;
    let authFailure = false;

    ws.on('unexpected-response', (_req, res) => {
      // e.g. HTTP 500 from server defect S1, or 403 when the runners router is not mounted.
      closeReason = `the server answered HTTP ${res.statusCode} to the WebSocket upgrade at ${this.#o.url}`;
      res.resume();
      ws.terminate();
    });
    ws.on('open', () => {
      opened = true;
      this.#set({ state: 'open', reason: undefined, remedy: undefined, connectedAt: Date.now(), lastHeartbeatAt: undefined });
      this.#log.info('connected', { url: this.#o.url });
      this.#startLiveness(ws);
      try {
        this.#o.onOpen();
      } catch (err) {
        this.#log.error('onOpen handler failed', { error: err });
      }
    });
    ws.on('message', (data, isBinary) => {
      if (isBinary) {
        this.#log.warn('ignored binary frame');
        return;
      }
      const text = Array.isArray(data)
        ? Buffer.concat(data).toString('utf8')
        : Buffer.isBuffer(data)
          ? data.toString('utf8')
          : Buffer.from(data).toString('utf8');
      const parsed = parseServerFrame(text);
      if (!parsed.ok) {
        this.#log.warn('ignored server message', { reason: parsed.reason, frame: text.slice(0, 200) });
        try {
          this.#o.onInvalid?.(parsed);
        } catch (err) {
          this.#log.error('invalid-message handler failed', { error: err });
        }
        return;
      }
      if (parsed.message.type === 'heartbeat') this.#onHeartbeat();
      try {
        this.#o.onMessage(parsed.message);
      } catch (err) {
        this.#log.error('message handler failed', { type: parsed.message.type, error: err });
      }
    });
    ws.on('pong', () => {
      this.#awaitingPong = false;
    });
    ws.on('error', (err) => {
      closeReason ??= describeSocketError(err, this.#o.url);
    });
    ws.on('close', (code, reasonBuf) => {
      this.#clearLiveness();
      if (this.#ws === ws) this.#ws = undefined;
      const reason = reasonBuf.toString('utf8');
      if (AUTH_CLOSE_CODES.has(code)) {
        authFailure = true;
        closeReason = `the server refused the credentials (${code}${reason ? ` ${reason}` : ''})`;
      } else if (opened) {
        // 1006 means no close frame came at all: the network or the server went away.
        closeReason ??=
          code === 1006 ? 'the connection dropped (1006)' : `the server closed the connection (${code}${reason ? ` ${reason}` : ''})`;
      }
      if (this.#stopping) return;
      // Info, not warn: every face shows the link's state and reason (run prints a line per attempt).
      this.#log.info('link down', { reason: closeReason, code });
      if (authFailure) void this.#handleAuthFailure(closeReason ?? 'the server refused the credentials');
      else this.#failed(closeReason ?? `could not connect to ${this.#o.url}`, false, 'checkServer');
    });
  }

  async #handleAuthFailure(reason: string): Promise<void> {
    if (!this.#authRetried && this.#o.onAuthFailure) {
      this.#authRetried = true;
      let refreshed = false;
      try {
        refreshed = await this.#o.onAuthFailure(reason);
      } catch (err) {
        this.#log.warn('credential refresh failed', { error: err });
      }
      if (refreshed && !this.#stopping) {
        this.#set({ reason: `${reason}; retrying with refreshed credentials` });
        this.#schedule(this.#o.redialGraceMs);
        return;
      }
    }
    this.#failed(reason, true, 'signIn');
  }

  /** A failed dial or a lost link: back off and redial. `auth` marks a refused sign-in (state `auth_failed`). */
  #failed(reason: string, auth: boolean, remedy: Remedy): void {
    if (this.#stopping) return;
    if (this.#o.maxAttempts > 0 && this.#backoff.attempts >= this.#o.maxAttempts) {
      this.#log.error('giving up reconnecting', { attempts: this.#backoff.attempts, reason });
      this.#set({
        state: 'stopped',
        reason: `${reason}; gave up after ${this.#backoff.attempts} attempts (max_reconnect_attempts)`,
        remedy,
      });
      return;
    }
    const delay = this.#backoff.next();
    this.#set({
      state: auth ? 'auth_failed' : 'waiting',
      reason,
      remedy,
      attempts: this.#backoff.attempts,
      nextRetryAt: Date.now() + delay,
    });
    this.#schedule(delay);
  }

  #schedule(delayMs: number): void {
    clearTimeout(this.#retryTimer);
    this.#retryTimer = setTimeout(() => this.#redial(), delayMs);
  }

  #onHeartbeat(): void {
    // A heartbeat proves a healthy session: only now may the backoff start over (R3).
    this.#backoff.reset();
    this.#authRetried = false;
    this.#set({ lastHeartbeatAt: Date.now(), attempts: 0 });
    this.#armWatchdog();
  }

  #startLiveness(ws: WebSocket): void {
    this.#awaitingPong = false;
    this.#pingTimer = setInterval(() => {
      if (this.#awaitingPong) {
        this.#dead(ws, `no pong within ${this.#o.pingIntervalMs} ms (half-open connection)`);
        return;
      }
      this.#awaitingPong = true;
      ws.ping();
    }, this.#o.pingIntervalMs);
    this.#armWatchdog();
  }

  #checkPong(): void {
    if (this.#awaitingPong && this.#ws) this.#dead(this.#ws, 'no pong after a link check');
    else if (this.#ws) this.#startLiveness(this.#ws);
  }

  #armWatchdog(): void {
    clearTimeout(this.#watchdog);
    if (this.#o.heartbeatIntervalMs <= 0) return;
    const limit = 2.5 * this.#o.heartbeatIntervalMs;
    this.#watchdog = setTimeout(() => {
      if (this.#ws) this.#dead(this.#ws, `no server heartbeat for ${Math.round(limit / 1000)} s (the server may have dropped this runner)`);
    }, limit);
  }

  #clearLiveness(): void {
    clearInterval(this.#pingTimer);
    clearTimeout(this.#pingTimer);
    clearTimeout(this.#watchdog);
  }

  /** Kill a dead link and redial after a grace, so the server never sees two connections (S4). */
  #dead(ws: WebSocket, reason: string): void {
    this.#log.info('link dead', { reason });
    this.#clearLiveness();
    ws.removeAllListeners('close');
    ws.terminate();
    if (this.#ws === ws) this.#ws = undefined;
    if (this.#stopping) return;
    this.#set({ state: 'waiting', reason, remedy: undefined, nextRetryAt: Date.now() + this.#o.redialGraceMs });
    this.#schedule(this.#o.redialGraceMs);
  }
}

/**
 * A dial that failed before the upgrade, in the words every face uses (api/networkError.ts):
 * "Nothing is answering at host:port — is Sibyl running?". Only host and port are named, so the
 * runner id in the path and any password in the URL stay out of it.
 */
function describeSocketError(err: Error, url: string): string {
  const code = errorCode(err);
  const words = unreachableWords(code, new URL(url));
  return isTlsCode(code) ? `${words.summary}; ${words.fix}` : words.summary;
}
