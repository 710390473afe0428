const turnQueue: (() => void)[] = [];
let admitting = false;

/**
 * Resolves in a turn of the event loop of the caller's own: one waiter per turn, in the order they
 * asked, each after the loop has read what arrived meanwhile (the first in the check phase of the
 * turn it asked in, the next in the following turn's, and so on). Never rejects.
 *
 * A task takes one before it prepares its workspace (tasks/taskRun.ts): the preparation and the
 * agent's plan are small synchronous file operations chained by promises (workspace/containment.ts,
 * agents/agentLauncher.ts) that would otherwise run in the turn of the task_assign that started
 * them, ahead of the task_ack waiting to leave (link/link.ts writes at the end of the turn); ten
 * tasks assigned together would all prepare while the server's next task_assign waits (issue 16,
 * "pickup while 10 agents start": p99 15–22 ms before, 6–9 ms after, on 2 cores). And one before
 * it spawns where the runner spawns on its own thread (Windows, the desktop app, no spawn helper:
 * tasks/spawnHost.ts): a spawn holds the thread until the child has exec'd (~1 ms on a quiet
 * machine, 5–40 ms on a small busy VM).
 */
export function loopTurn(): Promise<void> {
  return new Promise<void>((resolve) => {
    turnQueue.push(resolve);
    if (admitting) return;
    admitting = true;
    setImmediate(admitNext);
  });
}

function admitNext(): void {
  const next = turnQueue.shift();
  if (!next) {
    admitting = false;
    return;
  }
  next(); // its work runs once this callback returns; the next waiter's in the loop's next turn
  setImmediate(admitNext);
}
