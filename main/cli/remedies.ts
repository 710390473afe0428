import type { Remedy } from '../runner/errors.ts';
import { redactUrl } from '../runner/redact.ts';

/** What the CLI can name in a hint: an error's context (file, url…) or the command's own config. */
export interface RemedyHintContext {
  /** the server the runner talks to (config `server_url`, or an error's `url`) */
  serverUrl?: string | undefined;
  /** the runner.yaml in use */
  configPath?: string | undefined;
  /** the file a ConfigError names (its context `file`); preferred over `configPath` */
  file?: string | undefined;
  /** the folder that ran out of space */
  path?: string | undefined;
  /** the sub-command that was run, for its `--help` */
  command?: string | undefined;
}

/**
 * The CLI's words for a remedy (errors.ts): what to run or edit, starting in lower case so it can
 * follow a message ("…; run `sibyl-runner login`"). '' for `none`. The window and the tray word the
 * same remedies as buttons (vocabulary.ts `remedyAction`). A password in the server URL is shown
 * as `***`.
 */
export function remedyHint(remedy: Remedy, hintCtx: RemedyHintContext = {}): string {
  const ctx = hintCtx.serverUrl ? { ...hintCtx, serverUrl: redactUrl(hintCtx.serverUrl) } : hintCtx;
  switch (remedy) {
    case 'signIn':
      return `run \`sibyl-runner login${ctx.serverUrl ? ` --server ${ctx.serverUrl}` : ''}\``;
    case 'register':
      return `run \`sibyl-runner register --server ${ctx.serverUrl || 'URL'}\``;
    case 'checkServer':
      return ctx.serverUrl
        ? `check that ${ctx.serverUrl} is the right address${ctx.configPath ? ` (server_url in ${ctx.configPath})` : ''} and that the server is up`
        : 'check the server address (--server or server_url) and that the server is up';
    case 'fixConfig':
      return `edit ${ctx.file ?? ctx.configPath ?? 'the configuration file'}`;
    case 'freeDisk':
      return `free disk space${ctx.path ? ` on the disk of ${ctx.path}` : ''}`;
    case 'checkInput':
      return `see \`sibyl-runner ${ctx.command ? `${ctx.command} ` : ''}--help\``;
    case 'retry':
      return 'try again in a moment';
    case 'none':
      return '';
    default:
      return unhandled(remedy);
  }
}

/** Fails to compile when the switch above misses a remedy. */
function unhandled(remedy: never): never {
  throw new Error(`unhandled remedy: ${String(remedy)}`);
}
