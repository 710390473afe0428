import { createServer, type IncomingHttpHeaders, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { brotliDecompressSync, gunzipSync, inflateSync, zstdDecompressSync } from 'node:zlib';

/**
 * A scripted model server for running the real agent CLIs in tests: plain `node:http` on
 * 127.0.0.1, speaking just enough of two wire protocols for Claude Code and Codex to believe it.
 *
 * - Anthropic Messages (`POST /v1/messages`, Claude Code with `ANTHROPIC_BASE_URL=server.url`):
 *   SSE `message_start`, `content_block_start/delta/stop` (text, or `tool_use` with
 *   `input_json_delta`), `message_delta` (stop_reason, usage), `message_stop`; or one JSON message
 *   when the request says `"stream": false`.
 * - OpenAI Responses (`POST /v1/responses`, Codex with a provider whose `base_url` is
 *   `server.url + '/v1'` and `wire_api = "responses"`): SSE `response.created`,
 *   `response.output_item.added/done` (message or function_call items),
 *   `response.output_text.delta`, `response.completed` with usage.
 *
 * Each model request takes the next turn of the test's script, whichever API it came on. Every
 * request is recorded with its headers and parsed JSON body. A `hold` turn starts its stream and
 * stays open so a test can interrupt the client mid-turn and watch the connection close.
 * Start-up side requests (count_tokens, /v1/models, Claude Code's `HEAD /api/hello`, Anthropic
 * requests without tools such as title or quota probes) get a harmless answer and take no turn.
 * An unknown route, a request past the end of the script, or an attempt to use the server as an
 * HTTP(S) proxy to another host is answered with an error and listed in `problems`, so a test
 * fails with that sentence instead of hanging.
 */

/** A JSON value as parsed from a request body. */
export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

/** One tool call the scripted model makes: the tool's name as the client declared it, and its arguments. */
export interface ToolCall {
  name: string;
  input: { [key: string]: Json };
}

/** Token counts reported for a turn (whole tokens). Defaults: 100 in, 20 out. */
export interface TurnUsage {
  input: number;
  output: number;
}

/**
 * One model reply. `text`: an answer that ends the agent's turn (Anthropic stop_reason
 * `end_turn`). `tools`: optional text, then tool calls (stop_reason `tool_use`); the client runs
 * them and sends the results in its next request. `hold`: streams `text`, then neither finishes
 * nor closes until `HeldTurn.release()` or until the client goes away.
 */
export type Turn =
  | { kind: 'text'; text: string; usage?: TurnUsage }
  | { kind: 'tools'; calls: ToolCall[]; text?: string; usage?: TurnUsage }
  | { kind: 'hold'; text: string; usage?: TurnUsage };

/** A script entry: a turn, or a function that picks the turn from the request it answers (e.g. to use a tool name the client declared). */
export type ScriptEntry = Turn | ((request: RecordedRequest) => Turn);

export const say = (text: string, usage?: TurnUsage): Turn => ({ kind: 'text', text, ...(usage && { usage }) });
export const callTools = (...calls: ToolCall[]): Turn => ({ kind: 'tools', calls });
export const hold = (text: string): Turn => ({ kind: 'hold', text });

export type Api = 'anthropic' | 'openai';

export interface RecordedRequest {
  /** 1-based arrival order over all requests. */
  seq: number;
  /** Milliseconds since the server started. */
  at: number;
  method: string;
  /** Path without the query, e.g. `/v1/messages`. */
  path: string;
  query: string;
  headers: IncomingHttpHeaders;
  /** The parsed JSON body (decompressed if the client compressed it); undefined when empty or not JSON. */
  body: Json | undefined;
  /** Which model API it spoke, when it was a model request. */
  api: Api | undefined;
  /** The 0-based script index this request consumed; undefined for side requests. */
  turn: number | undefined;
}

/** A `hold` turn in progress. */
export interface HeldTurn {
  request: RecordedRequest;
  /** Resolves with the milliseconds since server start at which the client closed the connection before the response ended. */
  clientClosed: Promise<number>;
  /** Finish the turn normally (the rest of its events, then end). */
  release(): void;
}

/** A tool's result as the client sent it back, normalised over both APIs. */
export interface ToolResult {
  /** `tool_use_id` (Anthropic) or `call_id` (OpenAI). */
  id: string;
  output: string;
  isError: boolean;
}

export interface ModelServerOptions {
  /** Which Anthropic requests are side requests that take no turn. Default: those without tools. */
  isSideRequest?: (request: RecordedRequest) => boolean;
  /** Think this long (ms) before answering each scripted turn, like a real model (the demo's pace). Default 0. */
  turnDelayMs?: number;
}

const DEFAULT_USAGE: TurnUsage = { input: 100, output: 20 };

export class ModelServer {
  readonly requests: RecordedRequest[] = [];
  /** Sentences describing what the server could not answer; a passing test expects this empty. */
  readonly problems: string[] = [];
  port = 0;

  private readonly script: ScriptEntry[] = [];
  private nextTurn = 0;
  /** When the server started (ms since the epoch): `RecordedRequest.at` counts from here. */
  readonly started = Date.now();
  private readonly holdWaiters: ((held: HeldTurn) => void)[] = [];
  private readonly heldTurns: HeldTurn[] = [];
  private readonly sockets = new Set<Socket>();
  private server: Server | undefined;

  private readonly options: ModelServerOptions;

  private constructor(options: ModelServerOptions) {
    this.options = options;
  }

  static async start(script: ScriptEntry[] = [], options: ModelServerOptions = {}): Promise<ModelServer> {
    const s = new ModelServer(options);
    s.script.push(...script);
    await s.listen();
    return s;
  }

  /** Base URL without a path, e.g. `http://127.0.0.1:40123`: Claude Code's ANTHROPIC_BASE_URL; Codex's base_url is this plus `/v1`. */
  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  /** Requests that consumed a turn, in order. */
  get modelRequests(): RecordedRequest[] {
    return this.requests.filter((r) => r.turn !== undefined);
  }

  /** Turns not yet used. */
  get remainingTurns(): number {
    return this.script.length - this.nextTurn;
  }

  /** Resolves when the server is holding a turn open (the next one not yet handed out). */
  held(): Promise<HeldTurn> {
    const ready = this.heldTurns.shift();
    if (ready) return Promise.resolve(ready);
    return new Promise((resolve) => this.holdWaiters.push(resolve));
  }

  async close(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    if (!server) return;
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  private async listen(): Promise<void> {
    const server = createServer((req, res) => {
      this.handle(req, res).catch((err: unknown) => {
        this.problem(`internal error answering ${req.method} ${req.url}: ${String(err)}`);
        if (!res.headersSent) res.writeHead(500);
        res.end();
      });
    });
    server.on('connection', (socket) => {
      this.sockets.add(socket);
      socket.on('error', () => {}); // a client that resets is the client's business; `request close` events still fire
      socket.on('close', () => this.sockets.delete(socket));
    });
    // A client that treats us as its HTTPS proxy: it tried to reach another host.
    server.on('connect', (req: IncomingMessage, socket: Socket) => {
      this.problem(`client tried to reach ${req.url} through the proxy`);
      socket.on('error', () => {});
      socket.end('HTTP/1.1 403 Forbidden\r\n\r\n');
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(0, '127.0.0.1', () => resolve());
    });
    this.server = server;
    this.port = (server.address() as AddressInfo).port;
  }

  private problem(sentence: string): void {
    this.problems.push(sentence);
    console.error(`modelServer: ${sentence}`);
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const raw = await readBody(req);
    const url = new URL(req.url ?? '/', this.url);
    const record: RecordedRequest = {
      seq: this.requests.length + 1,
      at: Date.now() - this.started,
      method: req.method ?? 'GET',
      path: url.pathname,
      query: url.search,
      headers: req.headers,
      body: parseJson(raw, req.headers['content-encoding']),
      api: undefined,
      turn: undefined,
    };
    this.requests.push(record);
    if (url.host !== `127.0.0.1:${this.port}`) {
      this.problem(`client tried to reach ${url.origin} through the proxy`);
      return sendJson(res, 403, { error: 'no network in tests' });
    }
    const route = `${record.method} ${record.path}`;
    switch (route) {
      case 'POST /v1/messages':
        record.api = 'anthropic';
        if ((this.options.isSideRequest ?? hasNoTools)(record)) return answerAnthropic(res, record, say('OK'), undefined);
        return this.answerTurn(res, record, answerAnthropic);
      case 'POST /v1/responses':
        record.api = 'openai';
        return this.answerTurn(res, record, answerOpenAi);
      case 'POST /v1/messages/count_tokens':
        return sendJson(res, 200, { input_tokens: Math.ceil(raw.length / 4) });
      case 'GET /v1/models': {
        const model = {
          id: 'scripted-model',
          type: 'model',
          object: 'model',
          display_name: 'Scripted',
          created_at: '2025-01-01T00:00:00Z',
        };
        return sendJson(res, 200, { object: 'list', data: [model], models: [], has_more: false, first_id: model.id, last_id: model.id });
      }
      case 'HEAD /api/hello':
      case 'GET /api/hello':
        res.writeHead(200).end();
        return;
      default:
        this.problem(`unknown route ${route}`);
        return sendJson(res, 404, { type: 'error', error: { type: 'not_found_error', message: `modelServer: no route ${route}` } });
    }
  }

  private async answerTurn(res: ServerResponse, record: RecordedRequest, answer: Answer): Promise<void> {
    if (this.options.turnDelayMs) await new Promise((r) => setTimeout(r, this.options.turnDelayMs));
    const entry = this.script[this.nextTurn];
    if (!entry) {
      // 400 so neither CLI retries; the message reaches the CLI's output and `problems` names it.
      const message = `modelServer: script exhausted at request #${record.seq} (${this.script.length} turns)`;
      this.problem(message);
      return sendJson(res, 400, { type: 'error', error: { type: 'invalid_request_error', message, code: 'script_exhausted' } });
    }
    record.turn = this.nextTurn++;
    const turn = typeof entry === 'function' ? entry(record) : entry;
    answer(res, record, turn, turn.kind === 'hold' ? this.holdOpen(record, res) : undefined);
  }

  /** Registers a held turn; returns the promise its release() resolves. */
  private holdOpen(request: RecordedRequest, res: ServerResponse): Promise<void> {
    let release = (): void => {};
    const released = new Promise<void>((resolve) => (release = resolve));
    const clientClosed = new Promise<number>((resolve) => {
      res.on('close', () => {
        if (!res.writableEnded) resolve(Date.now() - this.started);
      });
    });
    const held: HeldTurn = { request, clientClosed, release };
    const waiter = this.holdWaiters.shift();
    if (waiter) waiter(held);
    else this.heldTurns.push(held);
    return released;
  }
}

/** Answers one model request; `released` is set for a held turn and resolves when the test lets it finish. */
type Answer = (res: ServerResponse, r: RecordedRequest, turn: Turn, released: Promise<void> | undefined) => void;

// ---- Anthropic Messages ----

function hasNoTools(r: RecordedRequest): boolean {
  const tools = field(r.body, 'tools');
  return !Array.isArray(tools) || tools.length === 0;
}

const answerAnthropic: Answer = (res, r, turn, released) => {
  const model = stringField(r.body, 'model') ?? 'scripted-model';
  const usage = turn.usage ?? DEFAULT_USAGE;
  const id = `msg_${r.seq}`;
  const blocks: { [key: string]: Json }[] = [];
  const text = turn.text ?? '';
  // A held turn always opens with its text block, even an empty one: that is what it streams before holding.
  if (text || released) blocks.push({ type: 'text', text });
  if (turn.kind === 'tools') {
    turn.calls.forEach((c, i) => blocks.push({ type: 'tool_use', id: `toolu_${r.seq}_${i}`, name: c.name, input: c.input }));
  }
  const stopReason = turn.kind === 'tools' ? 'tool_use' : 'end_turn';
  const usageJson = { input_tokens: usage.input, output_tokens: usage.output, cache_creation_input_tokens: 0, cache_read_input_tokens: 0 };
  if (field(r.body, 'stream') !== true) {
    const message = {
      id,
      type: 'message',
      role: 'assistant',
      model,
      content: blocks,
      stop_reason: stopReason,
      stop_sequence: null,
      usage: usageJson,
    };
    return sendJson(res, 200, message);
  }
  const sse = startSse(res);
  const streamText = (index: number, value: string): void => {
    sse('content_block_start', { type: 'content_block_start', index, content_block: { type: 'text', text: '' } });
    sse('content_block_delta', { type: 'content_block_delta', index, delta: { type: 'text_delta', text: value } });
  };
  sse('message_start', {
    type: 'message_start',
    message: {
      id,
      type: 'message',
      role: 'assistant',
      model,
      content: [],
      stop_reason: null,
      stop_sequence: null,
      usage: { ...usageJson, output_tokens: 1 },
    },
  });
  const finish = (): void => {
    blocks.forEach((block, index) => {
      if (block.type === 'text') {
        if (index > 0 || !released) streamText(index, typeof block.text === 'string' ? block.text : '');
      } else {
        sse('content_block_start', { type: 'content_block_start', index, content_block: { ...block, input: {} } });
        const json = JSON.stringify(block.input);
        // Two pieces, as a real stream splits arguments across deltas.
        const cut = Math.floor(json.length / 2);
        for (const partial_json of [json.slice(0, cut), json.slice(cut)]) {
          sse('content_block_delta', { type: 'content_block_delta', index, delta: { type: 'input_json_delta', partial_json } });
        }
      }
      sse('content_block_stop', { type: 'content_block_stop', index });
    });
    sse('message_delta', {
      type: 'message_delta',
      delta: { stop_reason: stopReason, stop_sequence: null },
      usage: { output_tokens: usage.output },
    });
    sse('message_stop', { type: 'message_stop' });
    res.end();
  };
  if (!released) return finish();
  // Held: the first text block is streamed now; the rest waits for release().
  streamText(0, text);
  void released.then(() => {
    if (!res.writableEnded && !res.destroyed) finish();
  });
};

// ---- OpenAI Responses ----

const answerOpenAi: Answer = (res, r, turn, released) => {
  const model = stringField(r.body, 'model') ?? 'scripted-model';
  const usage = turn.usage ?? DEFAULT_USAGE;
  const responseId = `resp_${r.seq}`;
  const sse = startSse(res);
  const base = { id: responseId, object: 'response', created_at: Math.floor(Date.now() / 1000), model };
  sse('response.created', { type: 'response.created', response: { ...base, status: 'in_progress', output: [] } });
  const output: { [key: string]: Json }[] = [];
  let index = 0;
  const text = turn.text;
  const messageId = `msg_${r.seq}`;
  const startMessage = (): void => {
    sse('response.output_item.added', {
      type: 'response.output_item.added',
      output_index: index,
      item: { type: 'message', id: messageId, role: 'assistant', status: 'in_progress', content: [] },
    });
    sse('response.output_text.delta', {
      type: 'response.output_text.delta',
      item_id: messageId,
      output_index: index,
      content_index: 0,
      delta: text ?? '',
    });
  };
  const finish = (): void => {
    if (text) {
      if (!released) startMessage();
      const item = {
        type: 'message',
        id: messageId,
        role: 'assistant',
        status: 'completed',
        content: [{ type: 'output_text', text, annotations: [] }],
      };
      sse('response.output_item.done', { type: 'response.output_item.done', output_index: index++, item });
      output.push(item);
    }
    if (turn.kind === 'tools') {
      turn.calls.forEach((c, i) => {
        const item = {
          type: 'function_call',
          id: `fc_${r.seq}_${i}`,
          call_id: `call_${r.seq}_${i}`,
          name: c.name,
          arguments: JSON.stringify(c.input),
          status: 'completed',
        };
        sse('response.output_item.added', { type: 'response.output_item.added', output_index: index, item: { ...item, arguments: '' } });
        sse('response.output_item.done', { type: 'response.output_item.done', output_index: index++, item });
        output.push(item);
      });
    }
    const usageJson = {
      input_tokens: usage.input,
      input_tokens_details: { cached_tokens: 0 },
      output_tokens: usage.output,
      output_tokens_details: { reasoning_tokens: 0 },
      total_tokens: usage.input + usage.output,
    };
    sse('response.completed', { type: 'response.completed', response: { ...base, status: 'completed', output, usage: usageJson } });
    res.end();
  };
  if (!released) return finish();
  if (text) startMessage();
  void released.then(() => {
    if (!res.writableEnded && !res.destroyed) finish();
  });
};

// ---- reading what the client sent ----

/** Every string anywhere in a request body, depth first: to check that a whole prompt arrived. */
export function stringsIn(value: Json | undefined): string[] {
  if (typeof value === 'string') return [value];
  if (Array.isArray(value)) return value.flatMap(stringsIn);
  if (value && typeof value === 'object') return Object.values(value).flatMap(stringsIn);
  return [];
}

/** The tool results a model request carries (Anthropic `tool_result` blocks, OpenAI `function_call_output` items). */
export function toolResults(r: RecordedRequest): ToolResult[] {
  const out: ToolResult[] = [];
  for (const m of arrayField(r.body, 'messages')) {
    for (const block of arrayField(m, 'content')) {
      if (field(block, 'type') !== 'tool_result') continue;
      out.push({
        id: stringField(block, 'tool_use_id') ?? '',
        output: contentText(field(block, 'content')),
        isError: field(block, 'is_error') === true,
      });
    }
  }
  for (const item of arrayField(r.body, 'input')) {
    if (field(item, 'type') !== 'function_call_output') continue;
    out.push({ id: stringField(item, 'call_id') ?? '', output: contentText(field(item, 'output')), isError: false });
  }
  return out;
}

/** A tool result's content: a string as it is, or the `text` of each content block, one per line. */
function contentText(value: Json | undefined): string {
  if (typeof value === 'string') return value;
  return (Array.isArray(value) ? value : [])
    .map((block) => field(block, 'text'))
    .filter((text) => typeof text === 'string')
    .join('\n');
}

/** Names of the function tools a request declares, including those inside namespaces. */
export function toolNames(r: RecordedRequest): string[] {
  const walk = (tools: Json[]): string[] =>
    tools.flatMap((t) => (field(t, 'type') === 'namespace' ? walk(arrayField(t, 'tools')) : [stringField(t, 'name') ?? '']));
  return walk(arrayField(r.body, 'tools')).filter(Boolean);
}

/** `value[key]` when `value` is a JSON object. */
export function field(value: Json | undefined, key: string): Json | undefined {
  return value && typeof value === 'object' && !Array.isArray(value) ? value[key] : undefined;
}

function stringField(value: Json | undefined, key: string): string | undefined {
  const v = field(value, key);
  return typeof v === 'string' ? v : undefined;
}

function arrayField(value: Json | undefined, key: string): Json[] {
  const v = field(value, key);
  return Array.isArray(v) ? v : [];
}

// ---- plumbing ----

async function readBody(req: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

function parseJson(raw: Buffer, encoding: string | undefined): Json | undefined {
  if (raw.length === 0) return undefined;
  const decoders: Record<string, (b: Buffer) => Buffer> = {
    gzip: gunzipSync,
    deflate: inflateSync,
    br: brotliDecompressSync,
    zstd: zstdDecompressSync,
  };
  const decode = encoding ? decoders[encoding] : undefined;
  try {
    return JSON.parse((decode ? decode(raw) : raw).toString('utf8')) as Json;
  } catch {
    return undefined;
  }
}

function sendJson(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
}

function startSse(res: ServerResponse): (event: string, data: unknown) => void {
  res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
  return (event, data) => {
    if (!res.writableEnded && !res.destroyed) res.write(`event: ${event}\ndata: ${JSON.stringify(data)}\n\n`);
  };
}
