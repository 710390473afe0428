import { existsSync } from 'node:fs';
import { AUTO_AGENTS, type AgentName, type PresetName } from '../agents/agentSettings.ts';
import { detectAgents, findExecutable, type InstalledAgent } from '../agents/detectAgents.ts';
import type { AgentPreset } from '../agents/preset.ts';
import { PRESETS } from '../agents/presets.ts';
import type { CredentialStore, Credentials } from '../config/credentials.ts';
import type { RunnerConfig } from '../config/schema.ts';
import { agentEnv } from '../tasks/agentEnv.ts';
import type { TaskSpec } from '../tasks/taskSpec.ts';
import { AGENT_CREDENTIALS } from './agentCredentials.ts';
import { check, type CheckStatus, type DoctorCheck } from './check.ts';

export interface AgentsInput {
  config: RunnerConfig;
  configPath: string;
  /** the environment the runner would start with (the daemon passes its own to agents, minus its secrets) */
  env: Record<string, string | undefined>;
  credentials: CredentialStore;
  home: string;
  platform?: NodeJS.Platform;
}

/** A task as agentEnv needs one; only its ids and prompt go into the environment, none of which doctor looks at. */
const PROBE_SPEC: TaskSpec = {
  taskId: 'doctor',
  agentId: 'doctor',
  projectId: 'doctor',
  prompt: '',
  agentType: undefined,
  command: [],
  commandSource: 'agent',
  timeoutSeconds: 60,
  timeoutFromTask: false,
  worktreePath: undefined,
  branch: undefined,
  baseRef: undefined,
  repoUrl: undefined,
  shadow: false,
};

/** The runner's own tokens, which agentEnv keeps out of the agent's environment (as authSourceFor's `secrets` does). */
async function runnerSecrets(input: AgentsInput): Promise<string[]> {
  const { config } = input;
  const stored: Credentials = await input.credentials.load().catch(() => ({}));
  return [
    config.runner_token,
    config.access_token,
    config.refresh_token,
    stored.access_token,
    stored.refresh_token,
    stored.runner_token,
  ].filter((s): s is string => typeof s === 'string' && s !== '');
}

/** The environment the runner gives `preset`'s process: agentEnv over the preset's launch (its configured `env` included). */
function environmentFor(preset: AgentPreset, executable: string, input: AgentsInput, secrets: string[]): Record<string, string> {
  const launch = preset.launch({
    prompt: '',
    promptFile: '',
    agentType: undefined,
    readOnly: false,
    context: '',
    executable,
    settings: input.config.agents[preset.name] ?? {},
  });
  return agentEnv({
    base: input.env,
    spec: PROBE_SPEC,
    worktreePath: '',
    promptFile: '',
    sandboxId: input.config.sandbox_id,
    secrets,
    extra: launch.env,
  });
}

/** Whether an installed agent will find its model provider's credentials; never reads or prints a value. */
function keyFinding(
  name: PresetName,
  agentEnvironment: Record<string, string>,
  input: AgentsInput,
): { status: CheckStatus; words: string; fix?: string; detail: Record<string, string | null> } {
  const cred = AGENT_CREDENTIALS[name];
  const configured = input.config.agents[name]?.env ?? {};
  const where = (k: string): string => (k in configured ? `agents.${name}.env in ${input.configPath}` : 'the environment');
  const key = cred.keys.find((k) => agentEnvironment[k]);
  if (key) return { status: 'ok', words: `${key} is set for it (from ${where(key)})`, detail: { keyVariable: key, keySource: where(key) } };
  const provider = cred.providerSwitches.find((k) => agentEnvironment[k]);
  if (provider)
    return {
      status: 'ok',
      words: `uses cloud credentials (${provider} is set)`,
      detail: { keyVariable: provider, keySource: where(provider) },
    };
  const home = agentEnvironment.HOME || input.home;
  const loginFile = cred.loginFiles(agentEnvironment, home).find((f) => existsSync(f));
  // Set here but dropped by agentEnv: its value holds one of the runner's own tokens.
  const heldBack = cred.keys.find((k) => input.env[k]);
  if (heldBack) {
    return {
      status: loginFile ? 'warn' : 'fail',
      words: `${heldBack} is set, but the runner keeps it from agents: its value contains the runner's own token`,
      fix: `give the agent a key of its own in ${heldBack}, not the Sibyl token`,
      detail: { keyVariable: heldBack, keySource: 'held back', loginFile: loginFile ?? null },
    };
  }
  if (loginFile) return { status: 'ok', words: `signed in with its own login (${loginFile})`, detail: { keyVariable: null, loginFile } };
  const names = cred.keys.length > 1 ? `${cred.keys.slice(0, -1).join(', ')} or ${cred.keys.at(-1)}` : (cred.keys[0] ?? '');
  const hidden = (cred.hiddenLogin ?? []).includes(input.platform ?? process.platform);
  return {
    status: 'warn',
    words: `no ${names} in the environment agents get${hidden ? ' (a login kept in the macOS Keychain cannot be seen from here)' : ', and no login of its own found'}`,
    fix: `export ${cred.keys[0]}=… where the runner starts (or set it under agents.${name}.env in ${input.configPath}), or ${cred.login}`,
    detail: { keyVariable: null, loginFile: null },
  };
}

/** Agents the configuration asks for by name: missing one of these fails, missing any other is only noted. */
function requiredAgents(config: RunnerConfig): Map<PresetName, string> {
  const required = new Map<PresetName, string>();
  const add = (name: AgentName | '' | undefined, why: string): void => {
    if (name && name !== 'command' && !required.has(name)) required.set(name, why);
  };
  add(config.agent, `agent: ${config.agent}`);
  for (const [type, name] of Object.entries(config.agents.by_agent_type ?? {})) add(name, `agents.by_agent_type.${type}: ${name}`);
  for (const name of Object.keys(PRESETS) as PresetName[]) if (config.agents[name]?.command) add(name, `agents.${name}.command is set`);
  return required;
}

function agentCheck(
  preset: AgentPreset,
  installed: InstalledAgent | undefined,
  input: AgentsInput,
  secrets: string[],
  why: string | undefined,
): DoctorCheck {
  const id = `agent.${preset.name}`;
  const command = input.config.agents[preset.name]?.command ?? preset.binary;
  const executable = installed?.executable ?? findExecutable(command, input.env, input.platform);
  const install = `install it (${preset.install}), or set agents.${preset.name}.command in ${input.configPath} to its path`;
  if (!executable) {
    if (!why) return check(id, preset.label, 'skip', `Not installed (no \`${command}\` on PATH)`, { detail: { command } });
    return check(id, preset.label, 'fail', `${preset.label} is configured (${why}) but \`${command}\` is not on PATH`, {
      fix: install,
      detail: { command },
    });
  }
  if (!installed) {
    return check(id, preset.label, why ? 'fail' : 'warn', `${executable} did not answer \`--version\` within 5 s`, {
      fix: `run \`${executable} --version\` to see why, or ${install}`,
      detail: { path: executable },
    });
  }
  const key = keyFinding(preset.name, environmentFor(preset, executable, input, secrets), input);
  return check(id, preset.label, key.status, `${installed.version} at ${executable}; ${key.words}`, {
    fix: key.fix,
    detail: { path: executable, version: installed.version, ...key.detail },
  });
}

/** Which agent runs a task that brings no command of its own, the way AgentLauncher.choose decides it (agentLauncher.ts). */
function defaultAgentCheck(installed: InstalledAgent[], input: AgentsInput): DoctorCheck {
  const { config, env, configPath } = input;
  const title = 'default agent';
  const source = env.SIBYL_AGENT ? 'SIBYL_AGENT' : `agent in ${configPath}`;
  if (config.agent === 'command' || (!config.agent && config.exec_command)) {
    if (config.exec_command)
      return check('agents', title, 'ok', 'Tasks without a command of their own run exec_command', { detail: { agent: 'command' } });
    return check('agents', title, 'fail', `${source} is "command", but no exec_command is configured`, {
      fix: `set exec_command in ${configPath} (or SIBYL_RUNNER_EXEC_CMD), or choose an agent CLI`,
      detail: { agent: 'command' },
    });
  }
  if (config.agent) {
    const found = installed.some((a) => a.preset.name === config.agent);
    const label = PRESETS[config.agent].label;
    return found
      ? check('agents', title, 'ok', `Tasks without a command of their own run ${label} (${source})`, { detail: { agent: config.agent } })
      : check('agents', title, 'fail', `Tasks without a command of their own would run ${label} (${source}), which is not installed`, {
          fix: `install it (${PRESETS[config.agent].install}), or change ${source}`,
          detail: { agent: config.agent },
        });
  }
  const first = AUTO_AGENTS.map((n) => installed.find((a) => a.preset.name === n)).find((a) => a !== undefined);
  if (first) {
    return check(
      'agents',
      title,
      'ok',
      `Tasks without a command of their own run ${first.preset.label} (the first installed; set agent in runner.yaml to choose)`,
      {
        detail: { agent: first.preset.name },
      },
    );
  }
  return check('agents', title, 'warn', 'No agent CLI is installed: tasks that bring no command of their own are refused', {
    fix: `install Claude Code (${PRESETS['claude-code'].install}) or Codex (${PRESETS.codex.install}), or set agent or exec_command in ${configPath}`,
    detail: { agent: null },
  });
}

/**
 * One check per agent CLI preset (installed, its version, its provider credentials in the
 * environment the runner gives agents), then which one runs tasks by default. Every `--version`
 * runs at once, each bounded to 5 s by detectAgents.
 */
export async function probeAgents(input: AgentsInput): Promise<DoctorCheck[]> {
  const env = input.env;
  const [installed, secrets] = await Promise.all([detectAgents(input.config.agents, env), runnerSecrets(input)]);
  const required = requiredAgents(input.config);
  const checks = Object.values(PRESETS).map((preset) =>
    agentCheck(
      preset,
      installed.find((a) => a.preset.name === preset.name),
      input,
      secrets,
      required.get(preset.name),
    ),
  );
  return [defaultAgentCheck(installed, input), ...checks];
}
