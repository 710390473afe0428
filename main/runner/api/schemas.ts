import * as z from 'zod';

/**
 * Every HTTP body the runner sends to or reads from Sibyl Core (sibyl-protocol.md §2–§3), one
 * schema each. The client validates with them, and the tests' fake server builds and checks its
 * bodies with the same ones. Responses are loose: a newer server may add fields.
 */

/** FastAPI accepts any 8-4-4-4-12 hex form; `z.uuid()` would also insist on an RFC version nibble. */
export const Uuid = z.guid();

// ---- requests --------------------------------------------------------------------------------

/** §3.2; the defaults are the server's, so what we send is exactly what it would assume. */
export const RegisterRequest = z.object({
  name: z.string().min(1).max(255),
  hostname: z.string().min(1).max(255),
  capabilities: z.array(z.string()).default([]),
  max_concurrent_agents: z.int().min(1).max(20).default(3),
  client_version: z.string().max(32).nullable().optional(),
});
export type RegisterRequest = z.input<typeof RegisterRequest>;

/** §3.5: `null` or absent leaves a field unchanged. */
export const PatchRunnerRequest = z.object({
  name: z.string().min(1).max(255).nullish(),
  capabilities: z.array(z.string()).nullish(),
  max_concurrent_agents: z.int().min(1).max(20).nullish(),
});
export type PatchRunnerRequest = z.input<typeof PatchRunnerRequest>;

/** §2.4.1. The server validates these inside the handler, so a bad value is an HTTP 500 (§9 S14). */
export const DeviceStartRequest = z.object({
  client_name: z.string().max(255).optional(),
  scope: z.string().max(255).optional(),
  interval: z.int().min(1).max(60).optional(),
  expires_in: z.int().min(60).max(3600).optional(),
});
export type DeviceStartRequest = z.input<typeof DeviceStartRequest>;

export const DeviceGrantType = 'urn:ietf:params:oauth:grant-type:device_code';

/** §2.4.3 (length violations are another S14 HTTP 500). */
export const DeviceTokenRequest = z.object({
  device_code: z.string().min(10).max(512),
  grant_type: z.string().optional(),
});
export type DeviceTokenRequest = z.input<typeof DeviceTokenRequest>;

/** §2.6. */
export const RefreshRequest = z.object({ refresh_token: z.string().min(10).max(4096) });
export type RefreshRequest = z.input<typeof RefreshRequest>;

// ---- responses -------------------------------------------------------------------------------

/** `GET /api/health` (§1.1). */
export const HealthResponse = z.looseObject({ status: z.string(), version: z.string().optional() });
export type HealthResponse = z.infer<typeof HealthResponse>;

/** Naive-UTC ISO timestamps such as `2026-02-07T18:22:05.123456` (§1.2). */
const Timestamp = z.string();

export const RunnerState = z.enum(['online', 'offline', 'busy', 'draining']);
export type RunnerState = z.infer<typeof RunnerState>;

/** The Runner object (§3.1). `id` is the UUID used in the WebSocket path, not `graph_runner_id`. */
export const RunnerResponse = z.looseObject({
  id: Uuid,
  name: z.string(),
  hostname: z.string(),
  graph_runner_id: z.string(),
  capabilities: z.array(z.string()),
  max_concurrent_agents: z.int(),
  current_agent_count: z.int(),
  status: RunnerState,
  last_heartbeat: Timestamp.nullable(),
  client_version: z.string().nullable(),
  created_at: Timestamp,
  updated_at: Timestamp,
});
export type RunnerResponse = z.infer<typeof RunnerResponse>;

/** `DELETE /api/runners/{id}` (§3.6). */
export const DeleteRunnerResponse = z.looseObject({ status: z.literal('deleted'), runner_id: Uuid });
export type DeleteRunnerResponse = z.infer<typeof DeleteRunnerResponse>;

export const RunnerListResponse = z.looseObject({ runners: z.array(RunnerResponse), total: z.int() });
export type RunnerListResponse = z.infer<typeof RunnerListResponse>;

/** §2.4.1. `interval` is whole seconds on a real server; the fake may use fractions to keep tests fast. */
export const DeviceStartResponse = z.looseObject({
  device_code: z.string().min(1),
  user_code: z.string().min(1),
  verification_uri: z.string(),
  verification_uri_complete: z.string(),
  expires_in: z.number().positive(),
  interval: z.number().positive(),
});
export type DeviceStartResponse = z.infer<typeof DeviceStartResponse>;

/** A successful device poll (§2.4.3) or refresh (§2.6); refresh answers carry no `scope`. */
export const TokenResponse = z.looseObject({
  access_token: z.string().min(1),
  refresh_token: z.string().min(1),
  token_type: z.string(),
  expires_in: z.number(),
  scope: z.string().optional(),
});
export type TokenResponse = z.infer<typeof TokenResponse>;

export const DeviceTokenErrorCode = z.enum([
  'unsupported_grant_type',
  'invalid_grant',
  'expired_token',
  'access_denied',
  'slow_down',
  'authorization_pending',
  'server_error',
]);
export type DeviceTokenErrorCode = z.infer<typeof DeviceTokenErrorCode>;

/** All device-poll errors are HTTP 400 with this body; unknown codes are kept as plain strings. */
export const DeviceTokenError = z.looseObject({
  error: z.union([DeviceTokenErrorCode, z.string()]),
  error_description: z.string().optional(),
});
export type DeviceTokenError = z.infer<typeof DeviceTokenError>;

/** `GET /api/auth/me` (§2.8). */
export const MeResponse = z.looseObject({
  user: z.looseObject({ id: z.string(), email: z.string().nullish(), name: z.string().nullish() }),
  organization: z.looseObject({ id: z.string(), slug: z.string(), name: z.string() }).nullable(),
  org_role: z.enum(['owner', 'admin', 'member', 'viewer']).nullable(),
});
export type MeResponse = z.infer<typeof MeResponse>;

/** One item of FastAPI's 422 list form (§1.2). */
export const ValidationIssue = z.looseObject({
  type: z.string(),
  loc: z.array(z.union([z.string(), z.number()])),
  msg: z.string(),
  input: z.unknown().optional(),
});
export type ValidationIssue = z.infer<typeof ValidationIssue>;

/** `{"detail": "..."}` for deliberate errors, `{"detail": [...]}` for validation failures. */
export const ErrorBody = z.looseObject({ detail: z.union([z.string(), z.array(ValidationIssue)]) });
export type ErrorBody = z.infer<typeof ErrorBody>;

/** HTTP 429 from the rate limiter (§1.2). */
export const RateLimitBody = z.looseObject({ error: z.string() });
