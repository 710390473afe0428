import * as z from 'zod';

/**
 * The shape of `sibyl-runner doctor`: one result per check, and the report around them. The
 * schemas are the `--json` contract (camelCase keys, ISO-8601 UTC times, `fix` null when there is
 * nothing to do); tests parse the output with them.
 */

/**
 * `ok`; `warn`: works, but worth a look (does not fail doctor); `fail`: the runner cannot work
 * until this is fixed; `skip`: not checked, because what it needs (the server, a token) failed.
 */
export const CHECK_STATUSES = ['ok', 'warn', 'fail', 'skip'] as const;
export const CheckStatus = z.enum(CHECK_STATUSES);
export type CheckStatus = z.infer<typeof CheckStatus>;

/** Facts behind a check, for `--json` and scripts: paths, versions, pids, ISO times, byte counts. */
export const CheckDetail = z.record(z.string(), z.union([z.string(), z.number(), z.boolean(), z.null()]));
export type CheckDetail = z.infer<typeof CheckDetail>;

export const DoctorCheck = z.object({
  /** stable, for scripts: `git`, `stateFolder`, `agent.claude-code`… (listed in `doctor --help`) */
  id: z.string(),
  /** a short label for people: "git", "state folder", "Claude Code" */
  title: z.string(),
  status: CheckStatus,
  /** one line: what was found */
  summary: z.string(),
  /** what to do, in words; null when nothing needs doing */
  fix: z.string().nullable(),
  detail: CheckDetail,
});
export type DoctorCheck = z.infer<typeof DoctorCheck>;

export const DoctorReport = z.object({
  /** false when any check failed (warnings keep it true) */
  ok: z.boolean(),
  /** when the checks started */
  checkedAt: z.iso.datetime(),
  durationMs: z.number(),
  configPath: z.string(),
  checks: z.array(DoctorCheck),
});
export type DoctorReport = z.infer<typeof DoctorReport>;

/** A check result; `fix` and `detail` may be left out. */
export function check(
  id: string,
  title: string,
  status: CheckStatus,
  summary: string,
  more: { fix?: string | undefined; detail?: CheckDetail } = {},
): DoctorCheck {
  return { id, title, status, summary, fix: more.fix ?? null, detail: more.detail ?? {} };
}

const SEVERITY: Record<CheckStatus, number> = { skip: 0, ok: 1, warn: 2, fail: 3 };

/** The worse of two statuses (fail > warn > ok > skip). */
export function worse(a: CheckStatus, b: CheckStatus): CheckStatus {
  return SEVERITY[a] >= SEVERITY[b] ? a : b;
}

/**
 * How long a check may take in all (ms). Every check starts at once, so this is also the bound on
 * doctor itself; each network request and each `--version` has a shorter limit of its own
 * (REQUEST_TIMEOUT_MS), so a check that waits on two of them in turn still ends in time.
 */
export const CHECK_DEADLINE_MS = 12_000;
/** One HTTP request or one `--version`: a hung server or CLI answers "no answer within 5 s". */
export const REQUEST_TIMEOUT_MS = 5_000;

/**
 * `run`, or `fallback` when it has not finished within `ms` or threw: doctor must answer even when
 * a disk, a server or a CLI hangs. `run` gets a signal that aborts at the bound, so the work it
 * started (a request, a child process) is cancelled too.
 */
export async function withDeadline<T>(
  ms: number,
  run: (signal: AbortSignal) => Promise<T>,
  fallback: (why: 'timeout' | Error) => T,
): Promise<T> {
  const controller = new AbortController();
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<T>((resolve) => {
    timer = setTimeout(() => {
      controller.abort(new Error(`no answer within ${ms / 1000} s`));
      resolve(fallback('timeout'));
    }, ms);
  });
  try {
    const work = run(controller.signal).catch((err: unknown) => fallback(err instanceof Error ? err : new Error(String(err))));
    return await Promise.race([work, late]);
  } finally {
    clearTimeout(timer);
  }
}

/** The result of a check that hung past `ms`, or threw `why`. */
export function unfinished(id: string, title: string, ms: number, why: 'timeout' | Error): DoctorCheck {
  if (why === 'timeout') {
    return check(id, title, 'fail', `Did not finish within ${ms / 1000} s`, {
      fix: 'something this check waits on hangs (a network mount, a server, a CLI); look at it directly, then run doctor again',
    });
  }
  return check(id, title, 'fail', `The check itself failed: ${why.message}`);
}

/** "40 seconds", "1 minute", "5 hours", "3 days": how long until (or since) something, in words. */
export function timeSpan(seconds: number): string {
  const s = Math.abs(seconds);
  const unit = (n: number, word: string): string => `${n} ${word}${n === 1 ? '' : 's'}`;
  // Each unit is decided after rounding, so 3599.9 s is "1 hour", not "60 minutes".
  if (Math.round(s) < 60) return unit(Math.round(s), 'second');
  if (Math.round(s / 60) < 60) return unit(Math.round(s / 60), 'minute');
  if (Math.round(s / 3600) < 48) return unit(Math.round(s / 3600), 'hour');
  return unit(Math.round(s / 86400), 'day');
}

/** "12 GB", "800 MB": free space in decimal units, as disk tools show it. */
export function byteSize(bytes: number): string {
  if (bytes >= 1e12) return `${(bytes / 1e12).toFixed(1)} TB`;
  if (bytes >= 1e9) return `${(bytes / 1e9).toFixed(1)} GB`;
  return `${Math.round(bytes / 1e6)} MB`;
}

/** An epoch-ms time as ISO-8601 UTC, the one time format of `--json`. */
export function isoTime(ms: number): string {
  return new Date(ms).toISOString();
}
