import assert from 'node:assert/strict';
import { request } from 'node:http';
import { test } from 'node:test';
import { gzipSync } from 'node:zlib';
import { callTools, hold, ModelServer, say, toolNames, toolResults, type Json } from '../helpers/modelServer.ts';

/** The scripted model server's own behaviour, without any agent CLI (realAgents.test.ts runs those). */

function post(server: ModelServer, path: string, body: Json, signal?: AbortSignal): Promise<Response> {
  return fetch(`${server.url}${path}`, {
    method: 'POST',
    body: JSON.stringify(body),
    headers: { 'content-type': 'application/json' },
    signal,
  });
}

/** SSE text → [event, data] pairs. */
function sse(text: string): [string, Record<string, unknown>][] {
  return text
    .split('\n\n')
    .filter(Boolean)
    .map((chunk) => {
      const [eventLine = '', dataLine = ''] = chunk.split('\n');
      return [eventLine.replace('event: ', ''), JSON.parse(dataLine.replace('data: ', '')) as Record<string, unknown>];
    });
}

const withTools: Json = { model: 'm', stream: true, tools: [{ name: 'Write' }], messages: [{ role: 'user', content: 'hi' }] };

test('Anthropic: a tools turn streams tool_use with its input split across input_json_delta, then a text turn', async (t) => {
  const server = await ModelServer.start([callTools({ name: 'Write', input: { file_path: '/x', content: 'y' } }), say('done')]);
  t.after(() => server.close());
  const events = sse(await (await post(server, '/v1/messages?beta=true', withTools)).text());
  assert.deepEqual(
    events.map(([e]) => e),
    [
      'message_start',
      'content_block_start',
      'content_block_delta',
      'content_block_delta',
      'content_block_stop',
      'message_delta',
      'message_stop',
    ],
  );
  const json = events
    .filter(([e]) => e === 'content_block_delta')
    .map(([, d]) => (d.delta as { partial_json: string }).partial_json)
    .join('');
  assert.deepEqual(JSON.parse(json), { file_path: '/x', content: 'y' });
  assert.deepEqual(events[5]?.[1], {
    type: 'message_delta',
    delta: { stop_reason: 'tool_use', stop_sequence: null },
    usage: { output_tokens: 20 },
  });

  const next = {
    ...withTools,
    messages: [{ role: 'user', content: [{ type: 'tool_result', tool_use_id: 'toolu_1_0', content: [{ type: 'text', text: 'ok' }] }] }],
  };
  const text = sse(await (await post(server, '/v1/messages', next)).text());
  assert.equal((text[2]?.[1].delta as { text: string }).text, 'done');
  assert.equal((text[4]?.[1].delta as { stop_reason: string }).stop_reason, 'end_turn');
  assert.deepEqual(toolResults(server.requests[1]!), [{ id: 'toolu_1_0', output: 'ok', isError: false }]);
  assert.deepEqual(toolNames(server.requests[0]!), ['Write']);
  assert.equal(server.requests[0]?.query, '?beta=true');
});

test('Anthropic: stream false gets one JSON message; a request without tools is a side request that takes no turn', async (t) => {
  const server = await ModelServer.start([say('scripted')]);
  t.after(() => server.close());
  const side = (await (await post(server, '/v1/messages', { model: 'haiku', max_tokens: 1, messages: [] })).json()) as { content: Json[] };
  assert.deepEqual(side.content, [{ type: 'text', text: 'OK' }]);
  const main = (await (await post(server, '/v1/messages', { ...(withTools as object), stream: false })).json()) as Record<string, Json>;
  assert.deepEqual(main.content, [{ type: 'text', text: 'scripted' }]);
  assert.equal(main.stop_reason, 'end_turn');
  assert.deepEqual(
    server.requests.map((r) => r.turn),
    [undefined, 0],
  );
});

test('OpenAI Responses: a function_call turn, then a message with usage; the request body may come gzipped', async (t) => {
  const server = await ModelServer.start([callTools({ name: 'exec_command', input: { cmd: 'ls' } }), say('done', { input: 7, output: 3 })]);
  t.after(() => server.close());
  const first = sse(await (await post(server, '/v1/responses', { model: 'm', input: [], tools: [] })).text());
  assert.deepEqual(
    first.map(([e]) => e),
    ['response.created', 'response.output_item.added', 'response.output_item.done', 'response.completed'],
  );
  assert.deepEqual(first[2]?.[1].item, {
    type: 'function_call',
    id: 'fc_1_0',
    call_id: 'call_1_0',
    name: 'exec_command',
    arguments: '{"cmd":"ls"}',
    status: 'completed',
  });
  const body = gzipSync(JSON.stringify({ model: 'm', input: [{ type: 'function_call_output', call_id: 'call_1_0', output: 'a\nb' }] }));
  const res = await fetch(`${server.url}/v1/responses`, { method: 'POST', body, headers: { 'content-encoding': 'gzip' } });
  const second = sse(await res.text());
  assert.deepEqual(
    second.map(([e]) => e),
    ['response.created', 'response.output_item.added', 'response.output_text.delta', 'response.output_item.done', 'response.completed'],
  );
  const completed = second[4]?.[1].response as { usage: Record<string, Json> };
  assert.equal(completed.usage.input_tokens, 7);
  assert.equal(completed.usage.output_tokens, 3);
  assert.deepEqual(toolResults(server.requests[1]!), [{ id: 'call_1_0', output: 'a\nb', isError: false }]);
});

test('hold: the stream starts and waits; release() finishes it, or the client going away resolves clientClosed', async (t) => {
  const server = await ModelServer.start([hold('partial'), hold('again')]);
  t.after(() => server.close());
  const released = post(server, '/v1/messages', withTools).then((r) => r.text());
  const first = await server.held();
  first.release();
  const events = sse(await released).map(([e]) => e);
  assert.deepEqual(events, [
    'message_start',
    'content_block_start',
    'content_block_delta',
    'content_block_stop',
    'message_delta',
    'message_stop',
  ]);

  const abort = new AbortController();
  const response = await post(server, '/v1/responses', { model: 'm', input: [] }, abort.signal);
  const second = await server.held();
  const reader = response.body!.getReader();
  const chunk = new TextDecoder().decode((await reader.read()).value);
  assert.match(chunk, /response\.created/);
  abort.abort();
  assert.ok((await second.clientClosed) >= 0);
  assert.equal(second.request.api, 'openai');
});

test('what it cannot answer becomes a problem with a clear status: exhausted script, unknown route, proxy use', async (t) => {
  const server = await ModelServer.start([]);
  t.after(() => server.close());
  const exhausted = await post(server, '/v1/messages', withTools);
  assert.equal(exhausted.status, 400);
  assert.match(await exhausted.text(), /script exhausted at request #1/);
  assert.equal((await fetch(`${server.url}/v2/other`)).status, 404);
  assert.equal((await fetch(`${server.url}/v1/models`)).status, 200);
  assert.equal((await post(server, '/v1/messages/count_tokens', { messages: [] })).status, 200);
  const proxied = await new Promise<number>((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port: server.port, method: 'CONNECT', path: 'example.com:443' });
    req.on('connect', (res, socket) => {
      socket.destroy();
      resolve(res.statusCode ?? 0);
    });
    req.on('error', reject);
    req.end();
  });
  assert.equal(proxied, 403);
  assert.deepEqual(server.problems, [
    'modelServer: script exhausted at request #1 (0 turns)',
    'unknown route GET /v2/other',
    'client tried to reach example.com:443 through the proxy',
  ]);
});
