import type { PresetName } from './agentSettings.ts';
import { claudeCode } from './claudeCode.ts';
import { codex } from './codex.ts';
import { aider, gemini, opencode } from './plainAgents.ts';
import type { AgentPreset } from './preset.ts';

/** Every agent CLI preset by name; `command` is not a preset (it runs the task's own argv). */
export const PRESETS: Readonly<Record<PresetName, AgentPreset>> = {
  'claude-code': claudeCode,
  codex,
  gemini,
  aider,
  opencode,
};
