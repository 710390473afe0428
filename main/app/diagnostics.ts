import { arch, release, type } from 'node:os';
import type { About, AppState } from '../../preload/contract.ts';
import { redactUrl, redactUrlsIn } from '../runner/redact.ts';
import { RUNNER_VERSION } from '../runner/version.ts';
import { linkDescription } from '../runner/vocabulary.ts';

/** What the diagnostics describe besides the app state: where things are and how secrets are kept. */
export interface DiagnosticsInput {
  state: AppState;
  configPath: string;
  logsFolder: string;
  /** CredentialStore.summary(): words, never the secrets themselves */
  credentials: string;
  /** process.versions and process.platform here; a test passes its own to pin them */
  versions?: NodeJS.ProcessVersions;
  now?: number;
}

/**
 * Settings → About: the version, the logs folder, and a plain-text report for a bug report:
 * the app's and the OS's versions, Node's and (in the app) Electron's and Chromium's, the config
 * path, the server (its user info redacted), runner name and id, the link state in the window's
 * words and the core process. It never holds a token: AppState has none, and URLs go through
 * redactUrl.
 */
export function aboutOf(input: DiagnosticsInput): About {
  const { state } = input;
  const v = input.versions ?? process.versions;
  const link = linkDescription(state, input.now);
  const core = state.core;
  const lines: [string, string][] = [
    ['Sibyl Runner', RUNNER_VERSION],
    ['OS', `${type()} ${release()} (${process.platform}, ${arch()})`],
    ['Node', v.node],
    // Absent in a plain Node process (the CLI, tests): only the desktop app runs on Electron.
    ['Electron', v.electron ? `${v.electron} (Chromium ${v.chrome ?? '?'})` : 'not running in Electron'],
    ['Config', input.configPath],
    ['Logs', input.logsFolder],
    ['Server', state.serverUrl ? redactUrl(state.serverUrl) : 'none'],
    ['Runner', state.registered ? `${state.runnerName || '(no name)'} (${state.runnerId})` : 'not registered'],
    ['Link', redactUrlsIn(link.reason ? `${link.label}: ${link.reason}` : link.label)],
    ['Core', core ? `${core.state}${core.owner ? `, ${core.owner}` : ''}${core.pid ? `, pid ${core.pid}` : ''}` : 'unknown'],
    ['Signed in', state.signedIn ? 'yes' : 'no'],
    ['Credentials', input.credentials],
  ];
  const width = Math.max(...lines.map(([k]) => k.length));
  return {
    version: RUNNER_VERSION,
    logsFolder: input.logsFolder,
    diagnostics: lines.map(([k, value]) => `${k.padEnd(width)}  ${value}`).join('\n'),
  };
}
