/**
 * Exponential backoff with full jitter: delay = random(0, min(cap, base × 2^(n−1))).
 * `reset()` only after a healthy session, so accept-then-close failures still back off (R3).
 */
export class Backoff {
  readonly #baseMs: number;
  readonly #capMs: number;
  readonly #random: () => number;
  attempts = 0;

  constructor(baseMs: number, capMs: number, random: () => number = Math.random) {
    this.#baseMs = baseMs;
    this.#capMs = capMs;
    this.#random = random;
  }

  next(): number {
    this.attempts++;
    const ceiling = Math.min(this.#capMs, this.#baseMs * 2 ** Math.min(this.attempts - 1, 30));
    return Math.round(this.#random() * ceiling);
  }

  reset(): void {
    this.attempts = 0;
  }
}
