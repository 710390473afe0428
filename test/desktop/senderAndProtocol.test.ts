import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { appProtocolHandler } from '../../main/desktop/appProtocol.ts';
import { isExternalHttpUrl, isTrustedSender } from '../../main/desktop/senderCheck.ts';
import { createBridge } from '../../preload/bridge.ts';
import { EVENT_NAMES } from '../../preload/channels.ts';
import { events } from '../../preload/contract.ts';
import { tempDir } from '../helpers/tmp.ts';

test('IPC is trusted only from our window, its main frame, our app URL', () => {
  const ours = new Set([7]);
  assert.equal(isTrustedSender({ webContentsId: 7, frameUrl: 'app://sibyl/index.html#/history', isMainFrame: true }, ours), true);
  assert.equal(isTrustedSender({ webContentsId: 8, frameUrl: 'app://sibyl/index.html', isMainFrame: true }, ours), false);
  assert.equal(isTrustedSender({ webContentsId: 7, frameUrl: 'app://sibyl/index.html', isMainFrame: false }, ours), false);
  assert.equal(isTrustedSender({ webContentsId: 7, frameUrl: 'https://evil.example/', isMainFrame: true }, ours), false);
  assert.equal(isTrustedSender({ webContentsId: 7, frameUrl: 'app://other/index.html', isMainFrame: true }, ours), false);
  assert.equal(isTrustedSender({ webContentsId: 7, frameUrl: 'file:///index.html', isMainFrame: true }, ours), false);
  assert.equal(isTrustedSender({ webContentsId: 7, frameUrl: '', isMainFrame: true }, ours), false);
  assert.equal(isExternalHttpUrl('https://sibyl.example/verify'), true);
  assert.equal(isExternalHttpUrl('file:///etc/passwd'), false);
  assert.equal(isExternalHttpUrl('javascript:alert(1)'), false);
});

test('the app protocol serves the renderer folder only, with a strict CSP', async () => {
  const dir = join(tempDir(), 'renderer');
  mkdirSync(join(dir, 'assets'), { recursive: true });
  writeFileSync(join(dir, 'index.html'), '<html></html>');
  writeFileSync(join(dir, 'assets', 'app.js'), 'x');
  writeFileSync(join(dir, '..', 'secret.txt'), 'no');
  const handle = appProtocolHandler(dir);
  const index = await handle({ url: 'app://sibyl/' });
  assert.equal(index.status, 200);
  assert.match(index.headers.get('content-type') ?? '', /text\/html/);
  assert.match(index.headers.get('content-security-policy') ?? '', /default-src 'self'.*connect-src 'none'/);
  assert.equal((await handle({ url: 'app://sibyl/assets/app.js' })).status, 200);
  assert.equal((await handle({ url: 'app://sibyl/../secret.txt' })).status, 404);
  assert.equal((await handle({ url: 'app://sibyl/%2e%2e/secret.txt' })).status, 404);
  assert.equal((await handle({ url: 'app://evil/index.html' })).status, 404);
  assert.equal((await handle({ url: 'app://sibyl/missing.js' })).status, 404);
});

test('the preload bridge exposes exactly invoke and on; events match the contract', async () => {
  assert.deepEqual([...EVENT_NAMES].sort(), Object.keys(events).sort());
  const invoked: unknown[][] = [];
  let deliver: ((e: unknown, ...a: unknown[]) => void) | undefined;
  const bridge = createBridge({ invoke: async (...a) => (invoked.push(a), { ok: true, value: 1 }), on: (_c, l) => (deliver = l) });
  assert.deepEqual(Object.keys(bridge).sort(), ['invoke', 'on']);
  assert.ok(Object.isFrozen(bridge));
  assert.deepEqual(await bridge.invoke('app:state', {}), { ok: true, value: 1 });
  assert.deepEqual(invoked[0], ['sibyl:invoke', 'app:state', {}]);
  const got: unknown[] = [];
  const off = bridge.on('wizard:device', (p) => got.push(p));
  deliver!({ sender: 'ipc-event-object' }, 'wizard:device', { state: 'pending', message: 'x' });
  deliver!({}, 'task:lines', { nope: true });
  off();
  deliver!({}, 'wizard:device', { state: 'approved', message: 'y' });
  assert.deepEqual(got, [{ state: 'pending', message: 'x' }]);
  assert.throws(() => bridge.on('not:an:event' as 'app:state', () => {}), /unknown event/);
});
