import { execFile } from 'node:child_process';
import { accessSync, constants, statSync } from 'node:fs';
import { isAbsolute, join } from 'node:path';
import { spawnPlan } from '../tasks/windowsCommand.ts';
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

/** A variable of `env` by name, case-insensitively on Windows (a copied Windows environment keeps `Path`). */
function envValue(env: Record<string, string | undefined>, name: string, platform: NodeJS.Platform): string | undefined {
  if (platform !== 'win32') return env[name];
  const key = Object.keys(env).find((k) => k.toUpperCase() === name);
  return key === undefined ? undefined : env[key];
}

/**
 * The names `name` is looked for under: itself elsewhere; on Windows, as the shell does, with each
 * extension of PATHEXT in its order (`.COM;.EXE;.BAT;.CMD` by default, so an `.exe` beats npm's
 * `.cmd` shim in the same folder), or as it is when it already ends in one of them. Never a bare
 * name on Windows: npm puts a POSIX shell script there beside the `.cmd`, which Windows cannot run.
 */
function candidateNames(name: string, env: Record<string, string | undefined>, platform: NodeJS.Platform): string[] {
  if (platform !== 'win32') return [name];
  const exts = (envValue(env, 'PATHEXT', platform) ?? '.COM;.EXE;.BAT;.CMD')
    .split(';')
    .map((e) => e.trim().toLowerCase())
    .filter((e) => e.startsWith('.'));
  const lower = name.toLowerCase();
  return exts.some((e) => lower.endsWith(e)) ? [name] : exts.map((e) => name + e);
}

/**
 * `name` on PATH (or an absolute path), as the platform's shell would find it; undefined when
 * absent or not executable. `platform` chooses the PATH delimiter and the Windows extensions (tests);
 * paths are joined the host's way.
 */
export function findExecutable(
  name: string,
  env: Record<string, string | undefined>,
  platform: NodeJS.Platform = process.platform,
): string | undefined {
  const names = candidateNames(name, env, platform);
  const candidates = isAbsolute(name)
    ? names
    : (envValue(env, 'PATH', platform) ?? '')
        .split(platform === 'win32' ? ';' : ':')
        .filter(Boolean)
        .flatMap((dir) => names.map((n) => join(dir, n)));
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
  // npm's agents are .cmd shims on Windows, which execFile alone refuses (windowsCommand.ts).
  const plan = spawnPlan([executable, '--version'], process.platform);
  const opts = { env, timeout: VERSION_TIMEOUT_MS, windowsHide: true, windowsVerbatimArguments: plan.windowsVerbatimArguments };
  return new Promise((resolve) => {
    execFile(plan.file, plan.args, opts, (err, stdout) => {
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
