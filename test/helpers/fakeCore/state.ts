import { randomBytes, randomUUID } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import type { WebSocket, WebSocketServer } from 'ws';
import type * as z from 'zod';
import type { RunnerMessage } from '../../../main/runner/protocol/messages.ts';
import { RunnerResponse, type RegisterRequest } from '../../../main/runner/api/schemas.ts';

/**
 * What the fake Sibyl Core knows: the records tests read, the fake's own bookkeeping, and the
 * few helpers both faces (REST and the runner socket) use to change it. `FakeCore` owns one of
 * these and hands it to `rest.ts` and `runnerSocket.ts`.
 */

export interface FakeCoreOptions {
  /** 0 (default) picks a free port. */
  port?: number;
  accessTokenTtlS?: number;
  refreshTokenTtlS?: number;
  /** Server heartbeat period (§4.4); 0 disables. Read at start/restart. */
  heartbeatIntervalMs?: number;
  /** Reject every WebSocket upgrade with this HTTP status (e.g. 500 = server defect S1). */
  upgradeStatus?: number;
  /** Override the device flow's `interval` (fractions allowed, to keep tests fast) and `expires_in`. */
  deviceIntervalS?: number;
  deviceExpiresInS?: number;
  /** Server defect S4: the replaced connection's cleanup unmaps the new one (no more heartbeats). */
  orphanOnReplace?: boolean;
  /** The largest frame accepted, in bytes; a bigger one is closed with 1009 (default 16 MiB, uvicorn's). */
  maxPayloadBytes?: number;
  /** Added to the clock of the HTTP `Date` header (ms): a server whose clock is not the runner's. */
  dateOffsetMs?: number;
}

export interface HttpRecord {
  method: string;
  path: string;
  headers: IncomingHttpHeaders;
  body: unknown;
  at: number;
}

export interface InboundFrame {
  runnerId: string;
  at: number;
  raw: string;
  /** The parsed JSON (undefined when the frame was not JSON). */
  json: unknown;
  /** The frame as a schema-valid `RunnerMessage`; undefined when invalid (see `invalidFrames`). */
  message: RunnerMessage | undefined;
}

export interface InvalidFrame {
  runnerId: string;
  at: number;
  raw: string;
  error: string;
}

export interface Handshake {
  runnerId: string;
  at: number;
  headers: IncomingHttpHeaders;
  /** `accepted`, `http 403`, or `close 1008 Authentication required`. */
  outcome: string;
}

export interface RunnerRecord {
  data: RunnerResponse;
  orgId: string;
  userId: string;
}

export interface Conn {
  ws: WebSocket;
  runnerId: string;
  silenced: boolean;
}

export interface DeviceRecord {
  deviceCode: string;
  userCode: string;
  scope: string;
  intervalS: number;
  expiresAt: number;
  state: 'pending' | 'approved' | 'denied' | 'consumed';
  lastPollAt: number | undefined;
}

export interface Session {
  sub: string;
  org: string;
  jti: string;
}

export interface Failure {
  method: string;
  path: string;
  status: number;
  body: unknown;
  remaining: number;
}

export interface CoreState {
  readonly options: FakeCoreOptions;
  readonly userId: string;
  readonly orgId: string;
  /** Site root; the port is only known once listening. */
  url(): string;
  readonly requests: HttpRecord[];
  readonly frames: InboundFrame[];
  readonly invalidFrames: InvalidFrame[];
  /** the runner's delivery checks (frames of type `runner_delivery_check:<n>`), answered as unknown types */
  readonly deliveryChecks: InboundFrame[];
  readonly handshakes: Handshake[];
  readonly wss: WebSocketServer;
  readonly runners: Map<string, RunnerRecord>;
  readonly conns: Map<string, Conn>;
  readonly devices: Map<string, DeviceRecord>;
  readonly sessions: Map<string, Session>;
  readonly apiKeys: Map<string, { scopes: string[] }>;
  readonly failures: Failure[];
  readonly waiters: Set<(f: InboundFrame) => void>;
}

export const UUID = /^[0-9a-f]{8}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{12}$/i;

export const naiveUtc = (d = new Date()): string => d.toISOString().replace('Z', '000');

export const isObject = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v);

export function createRunner(state: CoreState, req: z.output<typeof RegisterRequest>, userId: string, orgId: string): RunnerResponse {
  const now = naiveUtc();
  const data = RunnerResponse.parse({
    id: randomUUID(),
    name: req.name,
    hostname: req.hostname,
    graph_runner_id: `runner_${randomBytes(8).toString('hex')}`,
    capabilities: req.capabilities,
    max_concurrent_agents: req.max_concurrent_agents,
    current_agent_count: 0,
    status: 'offline',
    last_heartbeat: null,
    client_version: req.client_version ?? null,
    created_at: now,
    updated_at: now,
  });
  state.runners.set(data.id, { data, orgId, userId });
  return data;
}

export function setRunner(state: CoreState, id: string, patch: Partial<RunnerResponse>): void {
  const record = state.runners.get(id);
  if (record) record.data = { ...record.data, ...patch };
}
