import { PassThrough } from 'node:stream';
import { main } from '../../main/cli/index.ts';

/** What a `sibyl-runner` command printed and returned. */
export interface CliRun {
  code: number;
  stdout: string;
  stderr: string;
}

/**
 * `sibyl-runner …argv` in this process through the CLI's entry point (`main`), with exactly `env`
 * (nothing of the test's own environment leaks in). `tty` makes stdout a terminal. For what the
 * command says and returns; the launcher and the process (exit, signals) are tested through the bin.
 */
export async function cliInProcess(argv: string[], env: Record<string, string | undefined>, tty = false): Promise<CliRun> {
  const stdout = Object.assign(new PassThrough(), tty ? { isTTY: true } : {});
  const stderr = new PassThrough();
  let out = '';
  let err = '';
  stdout.on('data', (d: Buffer) => (out += d.toString()));
  stderr.on('data', (d: Buffer) => (err += d.toString()));
  const code = await main(argv, { stdout, stderr, env, isTTY: tty });
  return { code, stdout: out, stderr: err };
}
