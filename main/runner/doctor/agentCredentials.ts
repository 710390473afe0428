import { join } from 'node:path';
import type { PresetName } from '../agents/agentSettings.ts';

/**
 * How each agent CLI finds its model provider's credentials, as their own documentation says:
 * environment variables (the first one set wins here, for the message), variables that switch to
 * a cloud provider's own credentials, and the files their interactive login writes. Doctor only
 * looks whether they are there; it never reads or prints a value.
 */
export interface AgentCredentials {
  /** API-key variables, in the order the message names them */
  keys: readonly string[];
  /** variables that switch the CLI to a cloud provider's credentials (Bedrock, Vertex AI) */
  providerSwitches: readonly string[];
  /** files the CLI's own login leaves behind, under the agent's environment (HOME, CODEX_HOME…) */
  loginFiles(env: Record<string, string | undefined>, home: string): string[];
  /** how to sign in with the CLI itself */
  login: string;
  /** where the login lives where doctor cannot see it (macOS Keychain), said instead of "not found" */
  hiddenLogin?: NodeJS.Platform[];
}

export const AGENT_CREDENTIALS: Readonly<Record<PresetName, AgentCredentials>> = {
  'claude-code': {
    keys: ['ANTHROPIC_API_KEY', 'CLAUDE_CODE_OAUTH_TOKEN', 'ANTHROPIC_AUTH_TOKEN'],
    providerSwitches: ['CLAUDE_CODE_USE_BEDROCK', 'CLAUDE_CODE_USE_VERTEX'],
    // Linux and Windows keep the login in a file; macOS in the Keychain.
    loginFiles: (env, home) => [join(env.CLAUDE_CONFIG_DIR || join(home, '.claude'), '.credentials.json')],
    login: 'run `claude` once and sign in (or `claude setup-token` for a long-lived token in CLAUDE_CODE_OAUTH_TOKEN)',
    hiddenLogin: ['darwin'],
  },
  codex: {
    keys: ['OPENAI_API_KEY', 'CODEX_API_KEY'],
    providerSwitches: [],
    loginFiles: (env, home) => [join(env.CODEX_HOME || join(home, '.codex'), 'auth.json')],
    login: 'run `codex login` (or `codex login --device-auth` on a machine without a browser)',
  },
  gemini: {
    keys: ['GEMINI_API_KEY', 'GOOGLE_API_KEY'],
    providerSwitches: ['GOOGLE_GENAI_USE_VERTEXAI', 'GOOGLE_APPLICATION_CREDENTIALS'],
    loginFiles: (_env, home) => [join(home, '.gemini', 'oauth_creds.json')],
    login: 'run `gemini` once and sign in with Google',
  },
  aider: {
    // Aider reaches many providers; these are the ones its documentation starts with.
    keys: ['ANTHROPIC_API_KEY', 'OPENAI_API_KEY', 'GEMINI_API_KEY', 'DEEPSEEK_API_KEY', 'OPENROUTER_API_KEY'],
    providerSwitches: [],
    loginFiles: (_env, home) => [join(home, '.aider.conf.yml')],
    login: 'put the key in ~/.aider.conf.yml or the repository’s .env (see aider’s documentation)',
  },
  opencode: {
    keys: ['ANTHROPIC_API_KEY', 'OPENAI_API_KEY', 'OPENROUTER_API_KEY', 'GEMINI_API_KEY'],
    providerSwitches: [],
    loginFiles: (env, home) => [join(env.XDG_DATA_HOME || join(home, '.local', 'share'), 'opencode', 'auth.json')],
    login: 'run `opencode auth login`',
  },
};
