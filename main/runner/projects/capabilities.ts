import { execFile } from 'node:child_process';
import { readdir } from 'node:fs/promises';

/**
 * Capability labels, sent at registration as configured ∪ detected (sibyl-protocol.md §3.2, §6;
 * the original detected them and threw them away, R8).
 */

/** The original's marker-file table (§5.6): top level only, `*` globs do not recurse. */
const MARKERS: ReadonlyArray<readonly [string, ReadonlyArray<string | RegExp>]> = [
  ['python', ['pyproject.toml', 'setup.py', 'requirements.txt', 'Pipfile']],
  ['node', ['package.json', 'yarn.lock', 'pnpm-lock.yaml']],
  ['rust', ['Cargo.toml']],
  ['go', ['go.mod']],
  ['ruby', ['Gemfile']],
  ['java', ['pom.xml', 'build.gradle', 'build.gradle.kts']],
  ['dotnet', [/\.csproj$/, /\.fsproj$/, /\.sln$/]],
  ['docker', ['Dockerfile', 'docker-compose.yml', 'docker-compose.yaml']],
];

/** What a project's top-level files say it needs; [] when the folder cannot be read. */
export async function detectProjectCapabilities(dir: string): Promise<string[]> {
  let names: string[];
  try {
    names = await readdir(dir);
  } catch {
    return [];
  }
  const found: string[] = [];
  for (const [capability, indicators] of MARKERS) {
    const hit = indicators.some((m) => (typeof m === 'string' ? names.includes(m) : names.some((n) => m.test(n))));
    if (hit) found.push(capability);
  }
  return found;
}

/** Runs a probe command; true when it exits 0 within the timeout. Injectable for tests. */
export type Probe = (command: string, args: string[], timeoutMs: number) => Promise<boolean>;

export const execProbe: Probe = (command, args, timeoutMs) =>
  new Promise((resolve) => {
    execFile(command, args, { timeout: timeoutMs, windowsHide: true }, (err, stdout) => resolve(!err && stdout.trim() !== ''));
  });

/**
 * What this machine offers. `docker` needs `docker version` to reach a daemon (it prints the
 * server version): a client that answers `--version` with no daemon behind it cannot run a
 * container, and advertising it would attract tasks that then fail. `gpu` needs `nvidia-smi -L`
 * to list a device.
 */
export async function detectHostCapabilities(opts: { timeoutMs?: number; probe?: Probe } = {}): Promise<string[]> {
  const timeoutMs = opts.timeoutMs ?? 3000;
  const probe = opts.probe ?? execProbe;
  const [docker, gpu] = await Promise.all([
    probe('docker', ['version', '--format', '{{.Server.Version}}'], timeoutMs),
    probe('nvidia-smi', ['-L'], timeoutMs),
  ]);
  return [...(docker ? ['docker'] : []), ...(gpu ? ['gpu'] : [])];
}

/**
 * Host capabilities ∪ the capabilities of every usable linked project. A project's Dockerfile says
 * the project wants docker, not that this machine has it, so `docker` comes from the host only.
 */
export function unionCapabilities(host: string[], projects: string[][], configured: string[] = []): string[] {
  const all = new Set<string>([...configured, ...host]);
  for (const caps of projects) for (const c of caps) if (c !== 'docker') all.add(c);
  return [...all].sort();
}

/**
 * `detectedCapabilities()` for registration: host probes ∪ usable linked projects' markers ∪ the
 * agent CLIs installed here (`claude-code`, `codex`, …: the server routes agent tasks by them).
 */
export async function detectedCapabilities(opts: {
  links?: { list(): Promise<Array<{ usable: boolean; capabilities: string[] }>> };
  /** names of the installed agent CLIs (agents/detectAgents.ts) */
  agents?: () => Promise<string[]>;
  timeoutMs?: number;
  probe?: Probe;
}): Promise<string[]> {
  const [host, projects, agents] = await Promise.all([
    detectHostCapabilities({
      ...(opts.timeoutMs !== undefined ? { timeoutMs: opts.timeoutMs } : {}),
      ...(opts.probe ? { probe: opts.probe } : {}),
    }),
    opts.links ? opts.links.list() : Promise.resolve([]),
    opts.agents ? opts.agents() : Promise.resolve([]),
  ]);
  return unionCapabilities(
    [...host, ...agents],
    projects.filter((p) => p.usable).map((p) => p.capabilities),
  );
}
