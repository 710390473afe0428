import { spawn } from 'node:child_process';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { RunnerError } from '../errors.ts';

/**
 * One step of installing, removing, starting or stopping the service: data, so `--dry-run` can
 * print exactly what would happen and tests can read it.
 */
export type ServiceStep =
  | { kind: 'mkdir'; path: string }
  | { kind: 'write'; path: string; content: string; encoding?: 'utf8' | 'utf16le' }
  | { kind: 'remove'; path: string }
  /** `tolerate`: why a failure is expected and fine (the service was not loaded, say); absent: a failure stops the plan */
  | { kind: 'run'; file: string; args: string[]; tolerate?: string };

/** What an OS command printed and how it exited (`code` null: killed, or it could not be started). */
export interface CommandResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/**
 * Runs an OS command (systemctl, launchctl, schtasks) without a shell. The port tests replace, so
 * they run the real plans under a temp HOME without touching this machine's service manager.
 */
export type CommandRunner = (file: string, args: readonly string[]) => Promise<CommandResult>;

/** Longest an OS command may take: `systemctl restart` waits for the old runner to drain. */
const COMMAND_TIMEOUT_MS = 10 * 60_000;

/** The real runner: spawns the command, collects its output; a missing program is exit code null with the error as stderr. */
export const spawnCommand: CommandRunner = (file, args) =>
  new Promise((resolve) => {
    const child = spawn(file, args, { stdio: ['ignore', 'pipe', 'pipe'], timeout: COMMAND_TIMEOUT_MS, windowsHide: true });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    child.on('error', (err) => resolve({ code: null, stdout, stderr: stderr || err.message }));
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });

/**
 * A command failed that the plan needed. `context.command` is the command line, `context.output`
 * its first line of stderr (or stdout).
 */
export class ServiceCommandError extends RunnerError {
  readonly result: CommandResult;
  constructor(step: Extract<ServiceStep, { kind: 'run' }>, result: CommandResult) {
    const output = firstLine(result.stderr) || firstLine(result.stdout);
    const how = result.code === null ? 'could not run' : `failed (exit ${result.code})`;
    super('service_command_failed', `${commandLine(step.file, step.args)} ${how}${output ? `: ${output}` : ''}`, {
      context: { command: commandLine(step.file, step.args), output, exitCode: result.code ?? undefined },
    });
    this.result = result;
  }
}

function firstLine(text: string): string {
  return text.trim().split('\n')[0]?.trim() ?? '';
}

/**
 * Carries the steps out in order and stops at the first that fails (ServiceCommandError, or the
 * file system's error). `onStep` hears each step before it runs.
 */
export async function executePlan(steps: readonly ServiceStep[], run: CommandRunner, onStep?: (step: ServiceStep) => void): Promise<void> {
  for (const step of steps) {
    onStep?.(step);
    switch (step.kind) {
      case 'mkdir':
        mkdirSync(step.path, { recursive: true });
        break;
      case 'write':
        writeFileSync(step.path, step.encoding === 'utf16le' ? `\ufeff${step.content}` : step.content, {
          encoding: step.encoding ?? 'utf8',
          mode: 0o644,
        });
        break;
      case 'remove':
        rmSync(step.path, { force: true });
        break;
      case 'run': {
        const result = await run(step.file, step.args);
        if (result.code !== 0 && step.tolerate === undefined) throw new ServiceCommandError(step, result);
        break;
      }
      default:
        unhandled(step);
    }
  }
}

/** How a step reads in `--dry-run` output: a command line to copy, or what happens to a file. */
export function describeStep(step: ServiceStep): string {
  switch (step.kind) {
    case 'mkdir':
      return `mkdir -p ${quoteForDisplay(step.path)}`;
    case 'write':
      return `write ${quoteForDisplay(step.path)}${step.encoding === 'utf16le' ? ' (UTF-16)' : ''}`;
    case 'remove':
      return `rm -f ${quoteForDisplay(step.path)}`;
    case 'run':
      return `${commandLine(step.file, step.args)}${step.tolerate ? `   # may fail: ${step.tolerate}` : ''}`;
    default:
      return unhandled(step);
  }
}

/** A command line as a person would type it in a POSIX shell (single quotes where needed). */
export function commandLine(file: string, args: readonly string[]): string {
  return [file, ...args].map(quoteForDisplay).join(' ');
}

function quoteForDisplay(word: string): string {
  return /^[\w@%+=:,./\\-]+$/.test(word) ? word : `'${word.replace(/'/g, `'\\''`)}'`;
}

/** Fails to compile when a switch above misses a step kind. */
function unhandled(step: never): never {
  throw new Error(`unhandled service step: ${JSON.stringify(step)}`);
}
