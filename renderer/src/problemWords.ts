import type { IpcError } from '../../preload/contract.ts';

/**
 * The window's words for what went wrong (issue 15, item 2; style.md 13). Errors reach the window
 * typed — a stable `code`, the core's message, a `remedy`, raw `detail` — and the core's message
 * is written for logs and the CLI: it may name a command, a close code, an HTTP status or an
 * environment variable. Here each code becomes one sentence in plain words; the button comes
 * from the remedy; the core's message and detail go behind "Details". Pure (no DOM), so a plain
 * Node test walks every code.
 */

export type Remedy = NonNullable<IpcError['remedy']>;

/** An error as main sends it (IpcError), or a state's error (AppState.startError, credentialsError). */
export interface ProblemFacts {
  code: string;
  message: string;
  remedy?: Remedy | undefined;
  detail?: string | undefined;
}

/** What the window shows for a problem. */
export interface Problem {
  /** One or two sentences in plain words: what happened and, when useful, what to look at. */
  text: string;
  /** What the button offers ("Sign in again"…); `none` for no button. */
  remedy: Remedy;
  /** The field the problem belongs to (a refused registration's `name`…), when it has one. */
  field?: string;
  /** The core's own message and detail, as written: the "Details" disclosure. */
  details: string;
}

/** Sentences for codes whose words do not depend on the message. */
const FIXED: Record<string, { text: string; remedy?: Remedy }> = {
  auth_failed: { text: "The server didn't accept this runner's sign-in.", remedy: 'signIn' },
  login_denied: { text: 'The sign-in was denied in the browser.', remedy: 'retry' },
  login_expired: { text: 'The sign-in code expired before it was approved.', remedy: 'retry' },
  other_server: { text: 'You are signed in to a different Sibyl server.', remedy: 'signIn' },
  timeout: { text: "The server didn't answer in time.", remedy: 'retry' },
  tls: { text: "This machine doesn't trust the server's certificate.", remedy: 'checkServer' },
  bad_response: { text: "That address answers, but it isn't a Sibyl server.", remedy: 'checkServer' },
  rate_limited: { text: 'The server is busy right now. Try again in a minute.', remedy: 'retry' },
  server_error: { text: 'The server ran into a problem. Try again in a moment.', remedy: 'retry' },
  insecure_http: {
    text: 'Plain http:// is only allowed to this machine: the sign-in would travel unencrypted. Use an https:// address.',
    remedy: 'checkServer',
  },
  config_invalid: { text: "The runner's configuration file (runner.yaml) has a value it can't use.", remedy: 'fixConfig' },
  keyring_unavailable: { text: "The system keyring is locked or missing, so the sign-in can't be read.", remedy: 'retry' },
  keyring_decrypt_failed: { text: "The stored sign-in can't be unlocked on this machine.", remedy: 'signIn' },
  already_running: { text: 'Another Sibyl Runner is already running with this configuration.', remedy: 'none' },
  state_locked: { text: "Another program keeps the runner's state folder busy.", remedy: 'retry' },
  state_unavailable: { text: "The runner's state folder can't be used.", remedy: 'none' },
  not_running: { text: "The runner isn't running right now.", remedy: 'retry' },
  daemon_gone: { text: 'The runner stopped answering.', remedy: 'retry' },
  core_start_failed: { text: "The runner couldn't start.", remedy: 'retry' },
  core_start_timeout: { text: "The runner didn't start in time.", remedy: 'retry' },
  start_failed: { text: "The runner couldn't start.", remedy: 'retry' },
  start_cancelled: { text: 'The runner was stopped while it started.', remedy: 'retry' },
  credentials_unanswered: { text: "The runner couldn't get its sign-in from the app.", remedy: 'retry' },
  credentials_channel_closed: { text: "The runner couldn't get its sign-in from the app.", remedy: 'retry' },
  attached: { text: 'This runner was started outside the app; change it where it was started.', remedy: 'none' },
  runner_online: { text: 'The server still sees this runner online. Try again in a moment.', remedy: 'retry' },
  register_failed: { text: "The server didn't register this runner.", remedy: 'retry' },
  history_unavailable: { text: "The task history can't be opened.", remedy: 'none' },
  history_write_failed: { text: "The task history can't be written.", remedy: 'none' },
  journal_unreadable: { text: "The runner's journal can't be read.", remedy: 'none' },
  journal_unwritable: { text: "The runner's journal can't be written.", remedy: 'none' },
  invalid_query: { text: "That history search isn't valid.", remedy: 'checkInput' },
  not_a_folder: { text: "That path isn't a folder.", remedy: 'checkInput' },
  link_not_found: { text: "That project isn't linked.", remedy: 'none' },
  aborted: { text: 'Cancelled.', remedy: 'none' },
  unknown_channel: { text: 'Something went wrong inside Sibyl Runner.', remedy: 'retry' },
  bad_output: { text: 'Something went wrong inside Sibyl Runner.', remedy: 'retry' },
  failed: { text: 'Something went wrong inside Sibyl Runner.', remedy: 'retry' },
};

/** The codes the window words itself; anything else gets the message if it is plain, else a sentence per remedy. */
export const WORDED_CODES: readonly string[] = [
  ...Object.keys(FIXED),
  'network',
  'not_found',
  'validation',
  'http_error',
  'bad_input',
  'link_invalid',
];

const BY_REMEDY: Record<Remedy, string> = {
  signIn: "The server didn't accept this runner's sign-in.",
  register: 'This machine is not registered with a Sibyl server yet.',
  checkServer: "Something is wrong with the server's address or the server itself.",
  fixConfig: "The runner's configuration has a value it can't use.",
  freeDisk: 'The disk is full.',
  checkInput: "That wasn't accepted. Check what was entered.",
  retry: 'Something went wrong. Try again.',
  none: 'Something went wrong.',
};

/** Words for an error the window shows. `facts.remedy` is used when the code has none of its own. */
export function describeProblem(facts: ProblemFacts): Problem {
  const details = [facts.message, facts.detail].filter(Boolean).join('\n');
  const given = facts.remedy ?? 'none';
  // A pasted token the server refused is not the runner's stored sign-in.
  if (facts.code === 'auth_failed' && /rejected the token/.test(facts.message))
    return { text: "The server didn't accept this token.", remedy: 'signIn', details };
  // Which setting is wrong is the useful part: runner.yaml's key (ConfigError's context).
  const key =
    facts.code === 'config_invalid'
      ? (/^key: ([a-z_][\w.]*)$/m.exec(facts.detail ?? '')?.[1] ?? /key "([a-z_][\w.]*)"/.exec(facts.message)?.[1])
      : undefined;
  if (key)
    return { text: `The runner's configuration file (runner.yaml) has a value it can't use for ${key}.`, remedy: 'fixConfig', details };
  const fixed = FIXED[facts.code];
  if (fixed) return { text: fixed.text, remedy: fixed.remedy ?? given, details };
  const msg = facts.message.trim();
  switch (facts.code) {
    case 'network':
      // The core already says "Nothing is answering at host:port — is Sibyl running?" (api/networkError.ts).
      return { text: plainOr(firstClause(msg), "Can't reach the server."), remedy: 'checkServer', details };
    case 'not_found':
      return { ...notFound(msg), details };
    case 'validation':
    case 'bad_input':
      return { ...refusedInput(msg), details };
    case 'http_error': {
      // "<METHOD> <url>: <the server's words> (HTTP 4xx)": the server's own reason is the news.
      const said = /^[A-Z]+ \S+: (.*?)(?: \(HTTP \d{3}\))?$/s.exec(msg)?.[1] ?? '';
      return { text: plainOr(said && `The server said: ${sentence(said)}`, 'The server refused the request.'), remedy: given, details };
    }
    case 'link_invalid': {
      const why = /^cannot link .*?: (.*)$/s.exec(msg)?.[1] ?? '';
      return { text: plainOr(why && `That folder can't be linked: ${why}`, "That folder can't be linked."), remedy: 'checkInput', details };
    }
    default:
      return { text: plainOr(msg, BY_REMEDY[given]), remedy: given, details };
  }
}

/** `not_found` is the server's (a route it lacks) or the runner's (a task's folder or log that is gone). */
function notFound(msg: string): { text: string; remedy: Remedy } {
  if (/\bHTTP \d{3}\b|site root|server has no|answered/i.test(msg))
    return { text: "That address answers, but it isn't a Sibyl server with runners turned on.", remedy: 'checkServer' };
  if (/folder/i.test(msg)) return { text: "This task's folder is no longer on this machine.", remedy: 'none' };
  if (/\blog\b/i.test(msg)) return { text: "This task's log is no longer on this machine.", remedy: 'none' };
  if (/\btask\b/i.test(msg)) return { text: "This task is no longer in this runner's history.", remedy: 'none' };
  return { text: plainOr(msg, 'That was not found.'), remedy: 'none' };
}

/**
 * A refused field: the server's 422 ("… refused the request: body.name: Value error, name already
 * taken") or the window's own check ("wizard:useToken: token: paste the whole token").
 */
function refusedInput(msg: string): { text: string; remedy: Remedy; field?: string } {
  const m = /(?:^|[:;] )(?:body\.)?([A-Za-z_][\w.]*): (?:Value error, )?([^;]*)/.exec(msg.replace(/^.*refused the request: /s, ''));
  if (!m) return { text: "The server didn't accept what was entered.", remedy: 'checkInput' };
  const field = m[1]!.split('.').at(-1)!;
  const said = m[2]!.trim();
  if (/already (taken|exists|in use)|duplicate/i.test(said))
    return { text: `That ${field} is already taken on this server.`, remedy: 'checkInput', field };
  return { text: plainOr(sentence(said), `Check the ${field}.`), remedy: 'checkInput', field };
}

/**
 * The core's reason for a link that is not open ("the connection dropped (1006)", "the server
 * refused the credentials (4001 …)", "Nothing is answering at 127.0.0.1:9 — is Sibyl running?"),
 * as a plain sentence; '' when there is none. The raw reason goes under "Details".
 */
export function plainCause(cause: string): string {
  const c = cause.trim();
  if (!c) return '';
  const gaveUp = /gave up after (\d+) attempts/.exec(c);
  const also = gaveUp ? ` Gave up after ${gaveUp[1]} attempts.` : '';
  const first = firstClause(c);
  let words: string;
  if (/refused the credentials|rejected the token|refresh token|not authenticated/i.test(c))
    words = "The server didn't accept this runner's sign-in.";
  else if (/\bTLS\b|certificate|CERT_|SSL/i.test(c)) words = "This machine doesn't trust the server's certificate.";
  else if (/connection dropped|\b1006\b/.test(c)) words = 'The connection to the server dropped.';
  else if (/server closed the connection/.test(c)) words = 'The server closed the connection.';
  else if (/no pong|half-open|link check/.test(c)) words = 'The connection stopped answering.';
  else if (/no server heartbeat/.test(c)) words = 'The server stopped sending heartbeats.';
  else if (/runner was stopped/.test(c)) words = 'The runner was stopped.';
  else words = plainOr(first, "Can't reach the server.");
  return `${words}${also}`;
}

/** A core reason's first clause: "X; retrying with refreshed credentials" → "X". */
function firstClause(text: string): string {
  return text.split(/;\s/)[0]?.trim() ?? '';
}

/**
 * Words fit for the main text: no command line or backtick, no close code or HTTP status, no
 * error code or environment variable in capitals, no raw URL path. Anything else is Details'.
 */
function isPlain(text: string): boolean {
  return (
    text !== '' &&
    !/[`]|sibyl-runner|\bHTTP\b|\bstatus \d|\bcode \d|\(\d{3,4}\b|\b[A-Z][A-Z0-9]*_[A-Z0-9_]+\b|\bE[A-Z]{4,}\b|\/api\/|\bwss?:\/\//.test(
      text,
    )
  );
}

function plainOr(text: string, fallback: string): string {
  const s = sentence(text);
  return isPlain(s) ? s : fallback;
}

/** Log-style text ("connection closed") as a sentence ("Connection closed."). */
export function sentence(text: string): string {
  const t = text.trim();
  if (!t) return '';
  const capital = t.charAt(0).toUpperCase() + t.slice(1);
  return /[.!?…]$/.test(capital) ? capital : `${capital}.`;
}
