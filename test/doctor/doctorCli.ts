import assert from 'node:assert/strict';
import { chmodSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { DoctorReport, type DoctorCheck } from '../../main/runner/doctor/check.ts';
import { cliInProcess, type CliRun } from '../helpers/cliInProcess.ts';
import { tempDir } from '../helpers/tmp.ts';

/** What `sibyl-runner doctor` printed and returned, run in process through the CLI's entry point. */
export type DoctorRun = CliRun;

/**
 * `sibyl-runner doctor …` in process with exactly `env` (nothing of the test's own environment
 * leaks in: PATH decides which git and agent CLIs it finds). `tty` makes stdout a terminal.
 */
export function doctor(args: string[], env: Record<string, string | undefined>, tty = false): Promise<DoctorRun> {
  return cliInProcess(['doctor', ...args], env, tty);
}

/** `doctor --json` parsed with the report's own schema (the documented `--json` shape). */
export async function doctorJson(args: string[], env: Record<string, string | undefined>): Promise<{ code: number; report: DoctorReport }> {
  const run = await doctor(['--json', ...args], env);
  assert.equal(run.stderr, '', 'nothing on stderr');
  return { code: run.code, report: DoctorReport.parse(JSON.parse(run.stdout)) };
}

/** The check with `id`; fails the test when the report lacks it. */
export function checkOf(report: DoctorReport, id: string): DoctorCheck {
  const found = report.checks.find((c) => c.id === id);
  assert.ok(found, `a check "${id}" in ${report.checks.map((c) => c.id).join(', ')}`);
  return found;
}

/**
 * A folder of executables for PATH, each a shell script, so a test decides which agent CLIs (and
 * which git) exist. The returned PATH ends with /usr/bin:/bin for the system's git and sh.
 */
export function fakeBin(scripts: Record<string, string> = {}, systemPath = true): { dir: string; PATH: string } {
  const dir = join(tempDir('sibyl-doctor-bin-'), 'bin');
  mkdirSync(dir, { recursive: true });
  for (const [name, body] of Object.entries(scripts)) {
    const file = join(dir, name);
    writeFileSync(file, `#!/bin/sh\n${body}\n`);
    chmodSync(file, 0o755);
  }
  return { dir, PATH: systemPath ? `${dir}:/usr/bin:/bin` : dir };
}
