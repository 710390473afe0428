import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createServer, connect, type AddressInfo, type Socket } from 'node:net';
import { test } from 'node:test';
import { loopTurn } from '../../main/runner/tasks/loopTurn.ts';

// Issue 16: ten tasks assigned together must not prepare in one turn while the server's next
// task_assign waits to be read. loopTurn admits one waiter per turn of the event loop.

test('waiters are admitted one per turn, in order, never in the turn they asked in', async () => {
  let turn = 0;
  let ticking = true;
  const tick = (): void => {
    turn++;
    if (ticking) setImmediate(tick);
  };
  setImmediate(tick);
  const asked = turn;
  const seen: { i: number; turn: number }[] = [];
  let returned = false;
  const waits = Array.from({ length: 5 }, (_, i) =>
    loopTurn().then(() => {
      assert.ok(returned, 'not before the caller went on');
      seen.push({ i, turn });
    }),
  );
  returned = true;
  try {
    await Promise.all(waits);
  } finally {
    ticking = false;
  }
  assert.deepEqual(
    seen.map((s) => s.i),
    [0, 1, 2, 3, 4],
  );
  assert.ok(seen[0]!.turn >= asked);
  assert.equal(new Set(seen.map((s) => s.turn)).size, 5, `one waiter per turn: ${JSON.stringify(seen)}`);
});

test('data arriving on a socket is read between two admitted waiters', async () => {
  const server = createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const accepted = once(server, 'connection') as Promise<[Socket]>;
  const client = connect((server.address() as AddressInfo).port, '127.0.0.1');
  await once(client, 'connect');
  const [peer] = await accepted;
  const order: string[] = [];
  peer.on('data', () => order.push('data'));
  const first = loopTurn().then(() => {
    order.push('first');
    // Written now; the kernel has it at once (loopback), so the next poll phase reads it.
    client.write('x');
    const until = Date.now() + 20; // the data is waiting before this waiter ends
    while (Date.now() < until);
  });
  const second = loopTurn().then(() => order.push('second'));
  try {
    await Promise.all([first, second]);
    await new Promise((r) => setTimeout(r, 20));
    assert.deepEqual(order, ['first', 'data', 'second']);
  } finally {
    client.destroy();
    peer.destroy();
    server.close();
  }
});
