import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import type { RawData, WebSocket } from 'ws';
import { RunnerMessage } from '../../../main/runner/protocol/messages.ts';
import { bearerOrCookie, verifyJwt } from './jwt.ts';
import { isObject, naiveUtc, setRunner, UUID, type Conn, type CoreState, type InboundFrame } from './state.ts';

/** The fake's runner WebSocket (§4): the upgrade and its checks, heartbeats, and every inbound frame recorded and answered. */

const RUNNER_TYPES = new Set(['heartbeat_ack', 'status', 'agent_update', 'project_register', 'task_ack', 'task_complete', 'task_reject']);
const RUNNER_SCOPES = ['runner', 'runner:connect', 'sandbox:runner', 'mcp'];

function rejectUpgrade(socket: Duplex, status: number): void {
  const text = status === 403 ? 'Forbidden' : 'Internal Server Error';
  socket.end(
    `HTTP/1.1 ${status} ${text}\r\nContent-Type: text/plain\r\nContent-Length: ${text.length}\r\nConnection: close\r\n\r\n${text}`,
  );
}

export function handleUpgrade(state: CoreState, req: IncomingMessage, socket: Duplex, head: Buffer): void {
  const path = new URL(req.url ?? '/', 'http://fake').pathname;
  const runnerId = /^\/api\/runners\/ws\/([^/]+)$/.exec(path)?.[1] ?? '';
  const record = (outcome: string): void => {
    state.handshakes.push({ runnerId, at: performance.now(), headers: req.headers, outcome });
  };
  const status = state.options.upgradeStatus ?? (UUID.test(runnerId) ? undefined : 403);
  if (status !== undefined) {
    record(`http ${status}`);
    return rejectUpgrade(socket, status);
  }
  state.wss.handleUpgrade(req, socket, head, (ws) => {
    ws.on('error', () => undefined);
    const refused = wsRefusal(state, req, runnerId.toLowerCase());
    if (refused) {
      record(`close ${refused[0]} ${refused[1]}`);
      return ws.close(refused[0], refused[1]);
    }
    record('accepted');
    accept(state, ws, runnerId.toLowerCase());
  });
}

/** §4.2 checks b–f, in order; sandbox runners (g–i) do not exist in the fake. */
function wsRefusal(state: CoreState, req: IncomingMessage, runnerId: string): [number, string] | undefined {
  const token = bearerOrCookie(req.headers);
  const jwt = token === undefined ? undefined : verifyJwt(token, 'access');
  if (!jwt?.ok) return [1008, 'Authentication required'];
  const { sub, org, rid, sid } = jwt.claims;
  const uuidOrAbsent = (v: string | undefined): boolean => v === undefined || UUID.test(v);
  if (!sub || !org || !UUID.test(sub) || !UUID.test(org) || !uuidOrAbsent(rid) || !uuidOrAbsent(sid))
    return [1008, 'Authentication required'];
  if (rid !== undefined && rid.toLowerCase() !== runnerId) return [1008, 'Runner claim does not match requested runner'];
  const rawScopes = jwt.claims.scp ?? jwt.claims.scope;
  const scopes =
    typeof rawScopes === 'string' ? rawScopes.split(/\s+/).filter(Boolean) : Array.isArray(rawScopes) ? rawScopes.map(String) : [];
  if (scopes.length > 0 && !scopes.some((s) => RUNNER_SCOPES.includes(s))) return [1008, 'Insufficient runner scope'];
  const runner = state.runners.get(runnerId);
  if (!runner || runner.orgId !== org) return [1008, 'Runner not found or not in your organization'];
  if (runner.userId !== sub) return [1008, 'Not authorized for this runner'];
  return undefined;
}

function accept(state: CoreState, ws: WebSocket, runnerId: string): void {
  const conn: Conn = { ws, runnerId, silenced: false };
  const old = state.conns.get(runnerId);
  state.conns.set(runnerId, conn);
  // A silenced link is dead; a close frame would never get its reply.
  if (old?.silenced) old.ws.terminate();
  else if (old) old.ws.close(1000, 'Replaced by new connection');
  setRunner(state, runnerId, { status: 'online', last_heartbeat: naiveUtc() });
  ws.on('message', (data, isBinary) => onFrame(state, conn, data, isBinary));
  ws.on('close', () => {
    if (state.options.orphanOnReplace || state.conns.get(runnerId) === conn) {
      state.conns.delete(runnerId);
      setRunner(state, runnerId, { status: 'offline' });
    }
  });
}

/** One server heartbeat (§4.4) to every open, unsilenced link. */
export function heartbeatTick(state: CoreState): void {
  const server_time = new Date().toISOString().replace('Z', '000+00:00');
  for (const conn of state.conns.values()) {
    if (!conn.silenced && conn.ws.readyState === conn.ws.OPEN) conn.ws.send(JSON.stringify({ type: 'heartbeat', server_time }));
  }
}

function onFrame(state: CoreState, conn: Conn, data: RawData, isBinary: boolean): void {
  if (conn.silenced) return;
  const buf = Buffer.isBuffer(data) ? data : Array.isArray(data) ? Buffer.concat(data) : Buffer.from(data);
  const raw = buf.toString('utf8');
  const at = performance.now();
  let json: unknown;
  try {
    json = isBinary ? undefined : JSON.parse(raw);
  } catch {
    json = undefined;
  }
  const valid = isBinary ? undefined : RunnerMessage.safeParse(json);
  const frame: InboundFrame = { runnerId: conn.runnerId, at, raw, json, message: valid?.success ? valid.data : undefined };
  state.frames.push(frame);
  // The runner's delivery checks are unknown types on purpose (main/runner/link/outbox.ts): answered like any, counted apart.
  const isCheck = typeof raw === 'string' && /^\{"type":"runner_delivery_check:\d+"\}$/.test(raw);
  if (isCheck) state.deliveryChecks.push(frame);
  else if (!valid?.success) {
    const error = isBinary
      ? 'binary frame'
      : json === undefined
        ? 'not JSON'
        : (valid?.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ') ?? '');
    state.invalidFrames.push({ runnerId: conn.runnerId, at, raw, error });
  }
  for (const waiter of [...state.waiters]) waiter(frame);
  reply(state, conn, json, isBinary);
}

/** What the real server does with each frame (§4.5–4.6), including its crashes (S13). */
function reply(state: CoreState, conn: Conn, json: unknown, isBinary: boolean): void {
  const { ws, runnerId } = conn;
  const answer = (obj: object): void => ws.send(JSON.stringify(obj));
  if (isBinary) return ws.terminate();
  if (json === undefined) return answer({ type: 'error', message: 'Invalid JSON' });
  if (!isObject(json)) return ws.terminate();
  const type = json.type;
  if (typeof type !== 'string' || !RUNNER_TYPES.has(type))
    return answer({ type: 'error', message: `Unknown message type: ${typeof type === 'string' ? type : 'None'}` });
  if (type === 'heartbeat_ack') return setRunner(state, runnerId, { last_heartbeat: naiveUtc() });
  if (type === 'status') {
    const count = json.agent_count ?? 0;
    if (typeof count !== 'number' || !Number.isInteger(count)) return ws.terminate();
    if (json.status === 'online' || json.status === 'busy' || json.status === 'draining')
      setRunner(state, runnerId, { status: json.status, current_agent_count: count });
    return;
  }
  if (type === 'project_register') {
    const projectId = json.project_id;
    if (!projectId || !json.worktree_path) return;
    if (typeof projectId !== 'string' || !UUID.test(projectId)) return answer({ type: 'error', message: 'Invalid JSON' });
    answer({ type: 'project_registered', project_id: projectId });
  }
}
