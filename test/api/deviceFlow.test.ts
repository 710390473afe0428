import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { AuthError, RunnerError } from '../../main/runner/errors.ts';
import { runDeviceFlow, type DeviceCodeInfo, type Sleep } from '../../main/runner/api/deviceFlow.ts';
import { SibylApi } from '../../main/runner/api/sibylApi.ts';
import { decodeJwtExp } from '../../main/runner/api/tokens.ts';
import { FakeCore } from '../helpers/fakeCore.ts';

describe('device flow', () => {
  let core: FakeCore;
  let api: SibylApi;
  before(async () => {
    core = await FakeCore.start({ heartbeatIntervalMs: 0, deviceIntervalS: 0.05 });
    api = new SibylApi(core.url);
  });
  after(() => core.stop());

  const polls = (): string[] =>
    core.requests.filter((r) => r.path === '/api/auth/device/token').map((r) => String((r.body as { device_code: string }).device_code));

  it('returns the tokens once the user approves', async () => {
    let info: DeviceCodeInfo | undefined;
    const earlier = polls().length;
    const tokens = await runDeviceFlow(api, {
      clientName: 'sibyl-runner test',
      onCode: (i) => {
        info = i;
        // Approve only after two pending polls, as a user would, some time later.
        void core.until(() => polls().length - earlier >= 2, 5000, 'two polls').then(() => core.approveDevice(i.userCode.toLowerCase()));
      },
    });
    assert.ok(info);
    assert.match(info.userCode, /^[A-HJ-NP-Z2-9]{4}-[A-HJ-NP-Z2-9]{4}$/);
    assert.equal(info.verificationUriComplete, `${core.url}/api/auth/device/verify?user_code=${info.userCode}`);
    assert.equal(tokens.scope, 'mcp');
    assert.ok((decodeJwtExp(tokens.access_token) ?? 0) > Date.now() / 1000);
    assert.ok(polls().length - earlier >= 3, 'pending polls, then the tokens');
    assert.deepEqual(core.requests.find((r) => r.path === '/api/auth/device')?.body, { client_name: 'sibyl-runner test' });
  });

  it('fails with a clear AuthError when denied, naming the server to sign in to again', async () => {
    await assert.rejects(
      runDeviceFlow(api, { clientName: 'x', onCode: (i) => core.denyDevice(i.userCode) }),
      (err: unknown) =>
        err instanceof AuthError &&
        /denied/.test(err.message) &&
        err.code === 'login_denied' &&
        err.remedy === 'signIn' &&
        err.context.serverUrl === core.url,
    );
  });

  it('fails with a clear AuthError when the code expires', async () => {
    const earlier = polls().length;
    await assert.rejects(
      runDeviceFlow(api, {
        clientName: 'x',
        // The code expires after a pending poll, while the flow is waiting for the user.
        onCode: (i) => void core.until(() => polls().length > earlier, 5000, 'a pending poll').then(() => core.expireDevice(i.userCode)),
      }),
      (err: unknown) => err instanceof AuthError && /expired/.test(err.message) && err.context.serverUrl === core.url,
    );
  });

  it('backs off by 5 s when the server says slow_down', async () => {
    // A 1 s interval so that two back-to-back polls are "too early" even on a loaded machine.
    const strict = await FakeCore.start({ heartbeatIntervalMs: 0, deviceIntervalS: 1 });
    try {
      const asked: number[] = [];
      let code = '';
      // Do not actually wait: poll 1 is pending, poll 2 comes too early; then approve.
      const sleep: Sleep = async (ms) => {
        asked.push(ms);
        if (asked.length === 3) strict.approveDevice(code);
      };
      await runDeviceFlow(new SibylApi(strict.url), { clientName: 'x', sleep, onCode: (i) => (code = i.userCode) });
      assert.deepEqual(asked, [1000, 1000, 6000]);
      const answers = strict.requests.filter((r) => r.path === '/api/auth/device/token').length;
      assert.equal(answers, 3);
    } finally {
      await strict.stop();
    }
  });

  it('keeps adding 5 s per slow_down, capped at 60 s', async () => {
    assert.deepEqual(await sleepsAfterThreeSlowDowns(0.05), [50, 5050, 10050, 15050]);
    assert.deepEqual(await sleepsAfterThreeSlowDowns(58), [58000, 60000, 60000, 60000]);
  });

  it('stops when aborted', async () => {
    const ac = new AbortController();
    const earlier = polls().length;
    await assert.rejects(
      runDeviceFlow(api, {
        clientName: 'x',
        signal: ac.signal,
        // Aborted after a pending poll, while the flow is waiting for the user.
        onCode: () => void core.until(() => polls().length > earlier, 5000, 'a pending poll').then(() => ac.abort()),
      }),
      (err: unknown) => err instanceof RunnerError && err.code === 'aborted',
    );
  });
});

/** The sleeps requested when the server answers slow_down three times, starting from `intervalS`. */
async function sleepsAfterThreeSlowDowns(intervalS: number): Promise<number[]> {
  const core = await FakeCore.start({ heartbeatIntervalMs: 0, deviceIntervalS: intervalS });
  try {
    core.failNext('POST', '/api/auth/device/token', 400, { error: 'slow_down', error_description: 'Polling too frequently' }, 3);
    const asked: number[] = [];
    await runDeviceFlow(new SibylApi(core.url), {
      clientName: 'x',
      sleep: async (ms) => {
        asked.push(ms);
      },
      onCode: (i) => core.approveDevice(i.userCode),
    });
    return asked;
  } finally {
    await core.stop();
  }
}
