import { execFile } from 'node:child_process';
import { accessSync, constants, statSync } from 'node:fs';
import { delimiter, isAbsolute, join } from 'node:path';
import type { AgentsConfig } from './agentSettings.ts';
import { PRESETS } from './presets.ts';
import type { AgentPreset } from './preset.ts';

/** An agent CLI found on this machine. */
export interface InstalledAgent {
  preset: AgentPreset;
  /** absolute path of the executable */
  executable: string;
  /** the first line `--version` printed */
  version: string;
}

/** How long one `--version` may take (ms): a hung CLI must not hold up start-up. */
const VERSION_TIMEOUT_MS = 5000;

/** `name` on PATH (or an absolute path), as the shell would find it; undefined when absent or not executable. */
export function findExecutable(name: string, env: Record<string, string | undefined>): string | undefined {
  const candidates = isAbsolute(name)
    ? [name]
    : (env.PATH ?? '')
        .split(delimiter)
        .filter(Boolean)
        .flatMap((dir) => (process.platform === 'win32' ? ['.cmd', '.exe', ''].map((ext) => join(dir, name + ext)) : [join(dir, name)]));
  for (const file of candidates) {
    try {
      if (!statSync(file).isFile()) continue;
      accessSync(file, constants.X_OK);
      return file;
    } catch {
      // not here; keep looking
    }
  }
  return undefined;
}

function version(executable: string, env: Record<string, string | undefined>): Promise<string | undefined> {
  return new Promise((resolve) => {
    execFile(executable, ['--version'], { env, timeout: VERSION_TIMEOUT_MS, windowsHide: true }, (err, stdout) => {
      const first = stdout.trim().split('\n')[0]?.trim();
      resolve(err || !first ? undefined : first);
    });
  });
}

/**
 * Which agent CLIs are installed: the configured `agents.<name>.command` or the preset's binary on
 * PATH, answering `--version` within 5 s. All presets are probed at once; never throws.
 */
export async function detectAgents(agents: AgentsConfig, env: Record<string, string | undefined>): Promise<InstalledAgent[]> {
  const probes = Object.values(PRESETS).map(async (preset): Promise<InstalledAgent | undefined> => {
    const executable = findExecutable(agents[preset.name]?.command ?? preset.binary, env);
    if (!executable) return undefined;
    const v = await version(executable, env);
    return v === undefined ? undefined : { preset, executable, version: v };
  });
  return (await Promise.all(probes)).filter((a): a is InstalledAgent => a !== undefined);
}

/** The capability labels of the installed agent CLIs (their preset names). */
export async function agentCapabilities(agents: AgentsConfig, env: Record<string, string | undefined>): Promise<string[]> {
  return (await detectAgents(agents, env)).map((a) => a.preset.name);
}
