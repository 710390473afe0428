/**
 * E2BIG: the kernel refuses to start a program whose argv and environment are too large (Linux:
 * one string over 128 KiB, or all of them over about a quarter of the stack limit). It fails the
 * same way on every runner, so it is reported plainly and never as retryable. The prompt itself
 * never causes it: it travels by file or stdin, and SIBYL_TASK_PROMPT keeps only its start.
 */

/** Whether a spawn error (thrown, or the message AgentProcess reports) is E2BIG. */
export function isTooLargeToStart(err: unknown): boolean {
  if (typeof err === 'string') return /\bE2BIG\b/.test(err);
  return err instanceof Error && ((err as NodeJS.ErrnoException).code === 'E2BIG' || /\bE2BIG\b/.test(err.message));
}

/** Bytes the kernel copies for a launch: each argv and `KEY=value` string with its NUL. */
export function launchBytes(argv: readonly string[], env: Record<string, string>): { argv: number; env: number; largest: string } {
  let argvBytes = 0;
  let largest = { name: '', bytes: 0 };
  argv.forEach((a, i) => {
    const bytes = Buffer.byteLength(a) + 1;
    argvBytes += bytes;
    if (bytes > largest.bytes) largest = { name: `argument ${i}`, bytes };
  });
  let envBytes = 0;
  for (const [k, v] of Object.entries(env)) {
    const bytes = Buffer.byteLength(k) + Buffer.byteLength(v) + 2;
    envBytes += bytes;
    if (bytes > largest.bytes) largest = { name: `environment variable ${k}`, bytes };
  }
  return { argv: argvBytes, env: envBytes, largest: `${largest.name} (${kib(largest.bytes)})` };
}

/** The task's error: what was too large, by how much, and how large inputs should travel instead. */
export function tooLargeMessage(program: string, argv: readonly string[], env: Record<string, string>): string {
  const size = launchBytes(argv, env);
  return (
    `the command is too large to start (E2BIG): ${program} was given ${kib(size.argv)} of arguments and ${kib(size.env)} of environment, ` +
    `the largest being ${size.largest}; pass large inputs in a file or on stdin (the prompt is in SIBYL_TASK_PROMPT_FILE)`
  );
}

function kib(bytes: number): string {
  return `${Math.ceil(bytes / 1024)} KiB`;
}
