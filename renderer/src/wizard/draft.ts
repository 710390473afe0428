import type { Account, DeviceCode, DeviceLoginEvent, ServerCheck } from '../../../preload/contract.ts';

export const STEPS = ['Server', 'Sign in', 'This runner', 'Register'] as const;
export type StepIndex = 0 | 1 | 2 | 3;

export interface Capability {
  name: string;
  on: boolean;
  detected: boolean;
}

/**
 * Everything typed in the wizard. It lives for the whole window session, outside the step views,
 * so going back, or away and back, loses nothing.
 */
export interface WizardDraft {
  step: StepIndex;
  reached: StepIndex;
  serverUrl: string;
  check: ServerCheck | null;
  /** The URL `check` was made for; a different URL needs a new check. */
  checkedUrl: string;
  /** A URL whose failed check the person chose to go past ("Use this address anyway"). */
  acceptedUrl: string;
  authMode: 'device' | 'token';
  token: string;
  /** Who signed in (null when the server did not say), and for which server; a different server needs a new sign-in. */
  signedIn: { serverUrl: string; account: Account | null } | null;
  device: DeviceCode | null;
  /** When the shown device code expires (epoch ms, from its `expiresInS` when it arrived). */
  deviceExpiresAt: number;
  deviceEvent: DeviceLoginEvent | null;
  detected: boolean;
  name: string;
  maxAgents: number;
  capabilities: Capability[];
  worktreeBase: string;
  runnerId: string | null;
  /** what became of the runner this machine was registered as, once registered again */
  replaced: 'deleted' | 'gone' | 'elsewhere' | null;
  registering: boolean;
  /** An error per step, shown inside that step (and marked in the step list). */
  errors: [string, string, string, string];
}

export function newDraft(): WizardDraft {
  return {
    step: 0,
    reached: 0,
    serverUrl: '',
    check: null,
    checkedUrl: '',
    acceptedUrl: '',
    authMode: 'device',
    token: '',
    signedIn: null,
    device: null,
    deviceExpiresAt: 0,
    deviceEvent: null,
    detected: false,
    name: '',
    maxAgents: 1,
    capabilities: [],
    worktreeBase: '',
    runnerId: null,
    replaced: null,
    registering: false,
    errors: ['', '', '', ''],
  };
}

/** The server URL as the wizard sends it: trimmed, `https://` assumed when no scheme was typed. */
export function normalizedUrl(typed: string): string {
  const t = typed.trim();
  return t === '' || /^[a-z][a-z0-9+.-]*:\/\//i.test(t) ? t : `https://${t}`;
}

/** Checked as you type, before asking the server anything: '' when plausible. */
export function urlProblem(typed: string): string {
  const t = typed.trim();
  if (t === '') return 'Enter the address of your Sibyl server.';
  if (/\s/.test(t)) return 'That is not a valid address (it has spaces), e.g. https://sibyl.example.com';
  let url: URL;
  try {
    url = new URL(normalizedUrl(t));
  } catch {
    return 'That is not a valid address, e.g. https://sibyl.example.com';
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') return 'Use an http:// or https:// address.';
  // Chromium's URL parser percent-encodes odd characters in a host instead of refusing them.
  if (!url.hostname || url.hostname.includes('%')) return 'That is not a valid address, e.g. https://sibyl.example.com';
  if (url.username || url.password) return 'Leave credentials out of the address; you sign in at the next step.';
  return '';
}

/** The server the wizard settled on: the check's canonical URL when it has one (also from a failed check of this URL). */
export function serverOf(draft: WizardDraft): string {
  const typed = normalizedUrl(draft.serverUrl);
  return (draft.checkedUrl === typed ? draft.check?.serverUrl : undefined) ?? typed;
}

/** The check of the URL as typed passed, or the person chose to use it anyway. */
export function serverSettled(draft: WizardDraft): boolean {
  const typed = normalizedUrl(draft.serverUrl);
  return (draft.checkedUrl === typed && draft.check?.ok === true) || draft.acceptedUrl === typed;
}

/** A failed check that may be gone past: the address works as an address; only the server's answer was wrong. */
export function canUseAnyway(check: ServerCheck): boolean {
  return check.kind === 'unreachable' || check.kind === 'tls' || check.kind === 'not_sibyl';
}

/** "Signed in as Ada (ada@example.com)", with the organization when the token is bound to one. */
export function signedInText(account: Account | null): string {
  if (!account) return 'Signed in.';
  const org = account.organization ? ` in ${account.organization}${account.role ? ` (${account.role})` : ''}` : '';
  return `Signed in as ${account.label}${org}.`;
}

/** Which step an error code from main belongs to, so it is shown where it can be fixed. */
export function stepForError(code: string): StepIndex {
  switch (code) {
    case 'network':
    case 'timeout':
    case 'tls':
    case 'not_found':
    case 'unreachable':
    case 'not_sibyl':
    case 'bad_response':
    case 'insecure_http':
      return 0;
    case 'auth_failed':
    case 'not_signed_in':
      return 1;
    case 'validation':
    case 'bad_input':
    case 'config_invalid':
      return 2;
    default:
      return 3;
  }
}
