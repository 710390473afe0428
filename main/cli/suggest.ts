import leven from 'leven';

/**
 * The candidate a mistyped word most likely meant ("regster" → "register", "--limt" → "--limit"),
 * or undefined when none is close. Close is an edit distance of at most a third of the word (at
 * least 1, at most 3; two neighbouring letters swapped count as one, "--jsno" → "--json"), or the
 * word being the start of exactly one candidate ("--max" → "--max-agents"). Compared case-insensitively; ties go to the candidate listed first.
 */
export function closest(word: string, candidates: readonly string[]): string | undefined {
  const typed = word.toLowerCase();
  if (!typed) return undefined;
  const starting = candidates.filter((c) => c.toLowerCase().startsWith(typed));
  if (starting.length === 1 && typed.replace(/^-+/, '').length >= 2) return starting[0];
  const limit = Math.min(3, Math.max(1, Math.floor(typed.replace(/^-+/, '').length / 3)));
  let best: string | undefined;
  let bestDistance = limit + 1;
  for (const c of candidates) {
    const lower = c.toLowerCase();
    const d = swapped(typed, lower) ? 1 : leven(typed, lower, { maxDistance: limit + 1 });
    if (d < bestDistance) [best, bestDistance] = [c, d];
  }
  return best;
}

/** `; did you mean register?`, or '' when nothing is close: the end of an "unknown …" message. */
export function didYouMean(word: string, candidates: readonly string[]): string {
  const match = closest(word, candidates);
  return match === undefined ? '' : `; did you mean ${match}?`;
}

/** The words differ only in two neighbouring letters that are swapped ("zhs", "zsh"): one slip of the fingers. */
function swapped(a: string, b: string): boolean {
  if (a.length !== b.length || a === b) return false;
  const i = [...a].findIndex((ch, k) => ch !== b[k]);
  return a[i] === b[i + 1] && a[i + 1] === b[i] && a.slice(i + 2) === b.slice(i + 2);
}
