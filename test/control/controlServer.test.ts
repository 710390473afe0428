import assert from 'node:assert/strict';
import { connect, type Socket } from 'node:net';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { CONTROL_LIMITS, ControlServer, controlRequest } from '../../main/runner/control/controlSocket.ts';
import { logger } from '../../main/runner/logger.ts';
import { tempDir, until } from '../helpers/tmp.ts';

/**
 * The control socket against clients that misbehave (issue 14: the daemon must stay up and
 * bounded whatever connects to it). A real Unix socket served in this process; each answer is
 * 64 KiB, so unread answers add up quickly.
 */

const path = join(tempDir('sibyl-ctl-'), 'runner.sock');
const big = 'x'.repeat(64 * 1024);
const server = await ControlServer.listen(path, (req) => ({ echo: req.method, big }), logger('test'));
after(() => server.close());

function open(): Promise<Socket & { closedByServer: Promise<void> }> {
  return new Promise((resolve, reject) => {
    const sock = connect(path);
    const closedByServer = new Promise<void>((r) => sock.once('close', () => r()));
    sock.on('error', () => undefined);
    sock.once('connect', () => resolve(Object.assign(sock, { closedByServer })));
    sock.once('error', reject);
  });
}

/** Resolves with whether the socket was closed by the other side within `ms`. */
function closesWithin(sock: { closedByServer: Promise<void> }, ms: number): Promise<boolean> {
  return Promise.race([sock.closedByServer.then(() => true), new Promise<boolean>((r) => setTimeout(() => r(false), ms))]);
}

async function answers(): Promise<boolean> {
  return (await controlRequest(path, { method: 'snapshot' }))?.ok === true;
}

test('a request split across many writes is read whole; several in one write are each answered', async (t) => {
  const sock = await open();
  t.after(() => sock.destroy());
  let got = '';
  sock.setEncoding('utf8');
  sock.on('data', (c: string) => (got += c));
  for (const piece of ['{"id":3,"me', 'thod":"snap', 'shot"}\n{"id":4,"method":"kick"}\n{"id":5,', '"method":"pause"}\n'])
    sock.write(piece);
  await until(() => got.split('\n').length > 3, 'three answers');
  const ids = got
    .trim()
    .split('\n')
    .map((l) => (JSON.parse(l) as { id: number; result: { echo: string } }).result.echo);
  assert.deepEqual(ids, ['snapshot', 'kick', 'pause']);
});

test('a line longer than any request is not held: the connection is closed, the server goes on', async (t) => {
  const sock = await open();
  t.after(() => sock.destroy());
  // Twice the bound, with no newline, in pieces as a stream would bring it.
  const piece = 'y'.repeat(8 * 1024);
  for (let sent = 0; sent <= CONTROL_LIMITS.lineChars * 2; sent += piece.length) sock.write(piece);
  assert.equal(await closesWithin(sock, 5000), true, 'closed by the server');
  assert.equal(await answers(), true);
});

test('a client that sends requests and never reads the answers is cut off instead of having them all held', async (t) => {
  const sock = await open();
  t.after(() => sock.destroy());
  sock.pause();
  // 400 answers of 64 KiB: 25 MiB, far past the kernel's buffers and the bound.
  const request = '{"id":1,"method":"snapshot"}\n';
  sock.write(request.repeat(400));
  // A paused socket does not see the other side's end; its next write does (EPIPE).
  await until(() => sock.destroyed || void sock.write(request), 'the server closes the connection');
  assert.equal(await answers(), true);
});

test('connections past the cap are closed as they arrive; once some go, the server answers again', async (t) => {
  const idle: Socket[] = [];
  t.after(() => idle.forEach((s) => s.destroy()));
  for (let i = 0; i < CONTROL_LIMITS.connections; i++) idle.push(await open());
  // Accepted in the order they connected: the idle ones first.
  const extra = await open();
  assert.equal(await closesWithin(extra, 5000), true, 'the one past the cap is closed');
  for (const s of idle.splice(0, 4)) s.destroy();
  await until(answers, 'an answer once below the cap');
});
