import { createHmac, randomUUID, timingSafeEqual } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import * as z from 'zod';
import { TokenResponse } from '../../../main/runner/api/schemas.ts';
import type { CoreState } from './state.ts';

/** The fake's JWTs (§2.1–2.2): HS256 signing, PyJWT-style checks, and the sessions behind refresh tokens. */

export const FAKE_JWT_SECRET = 'fake-sibyl-core-test-secret';

export interface MintOptions {
  /** `null` leaves the claim out. */
  sub?: string | null;
  org?: string | null;
  /** Negative ⇒ already expired. */
  ttlS?: number;
  rid?: string;
  scope?: string;
  extra?: Record<string, unknown>;
}

const Claims = z.looseObject({
  sub: z.string().optional(),
  org: z.string().optional(),
  typ: z.string().optional(),
  iat: z.number().optional(),
  exp: z.number().optional(),
  jti: z.string().optional(),
  sid: z.string().optional(),
  rid: z.string().optional(),
  scope: z.unknown().optional(),
  scp: z.unknown().optional(),
});
type Claims = z.infer<typeof Claims>;

const b64 = (value: string | Buffer): string => Buffer.from(value).toString('base64url');

export function signJwt(claims: Record<string, unknown>, secret: string = FAKE_JWT_SECRET): string {
  const head = `${b64(JSON.stringify({ alg: 'HS256', typ: 'JWT' }))}.${b64(JSON.stringify(claims))}`;
  return `${head}.${createHmac('sha256', secret).update(head).digest('base64url')}`;
}

/** PyJWT's checks, with its error wording (used in the refresh endpoint's 401 details). */
export function verifyJwt(token: string, typ: 'access' | 'refresh'): { ok: true; claims: Claims } | { ok: false; reason: string } {
  const [head, body, sig] = token.split('.');
  if (head === undefined || body === undefined || sig === undefined) return { ok: false, reason: 'Not enough segments' };
  const expected = createHmac('sha256', FAKE_JWT_SECRET).update(`${head}.${body}`).digest();
  const given = Buffer.from(sig, 'base64url');
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) return { ok: false, reason: 'Signature verification failed' };
  let claims: Claims;
  try {
    claims = Claims.parse(JSON.parse(Buffer.from(body, 'base64url').toString('utf8')));
  } catch {
    return { ok: false, reason: 'Invalid payload' };
  }
  if (claims.exp === undefined || claims.iat === undefined || claims.sub === undefined)
    return { ok: false, reason: 'Token is missing a required claim' };
  if (claims.exp <= Date.now() / 1000) return { ok: false, reason: typ === 'refresh' ? 'Refresh token expired' : 'Signature has expired' };
  if (claims.typ !== typ) return { ok: false, reason: `Invalid token type (expected ${typ})` };
  return { ok: true, claims };
}

/** The token a request carries: `Authorization: Bearer …`, else the `sibyl_access_token` cookie. */
export function bearerOrCookie(headers: IncomingHttpHeaders): string | undefined {
  const auth = headers.authorization;
  if (auth && /^bearer /i.test(auth) && auth.slice(7).trim()) return auth.slice(7).trim();
  for (const part of (headers.cookie ?? '').split(';')) {
    const [k, ...v] = part.trim().split('=');
    if (k === 'sibyl_access_token' && v.length) return v.join('=');
  }
  return undefined;
}

export function mintAccessToken(state: CoreState, opts: MintOptions = {}): string {
  const now = Math.floor(Date.now() / 1000);
  const claims: Record<string, unknown> = { typ: 'access', iat: now, exp: now + (opts.ttlS ?? state.options.accessTokenTtlS ?? 3600) };
  if (opts.sub !== null) claims.sub = opts.sub ?? state.userId;
  if (opts.org !== null) claims.org = opts.org ?? state.orgId;
  if (opts.rid !== undefined) claims.rid = opts.rid;
  if (opts.scope !== undefined) claims.scope = opts.scope;
  return signJwt({ ...claims, ...opts.extra });
}

/** A new session (as after a login): an access token and a rotating refresh token. */
export function issueTokenPair(state: CoreState, opts: { scope?: string; ttlS?: number; sub?: string; org?: string } = {}): TokenResponse {
  const sub = opts.sub ?? state.userId;
  const org = opts.org ?? state.orgId;
  const sid = randomUUID();
  state.sessions.set(sid, { sub, org, jti: '' });
  return rotate(state, sid, opts);
}

/** A fresh pair for session `sid`; the refresh token issued before dies. */
export function rotate(state: CoreState, sid: string, opts: { scope?: string; ttlS?: number }): TokenResponse {
  const session = state.sessions.get(sid);
  if (!session) throw new Error('fakeCore: no such session');
  const now = Math.floor(Date.now() / 1000);
  session.jti = randomUUID();
  const refresh = signJwt({
    sub: session.sub,
    org: session.org,
    typ: 'refresh',
    jti: session.jti,
    sid,
    iat: now,
    exp: now + (state.options.refreshTokenTtlS ?? 30 * 86400),
  });
  const ttl = opts.ttlS ?? state.options.accessTokenTtlS ?? 3600;
  const access = mintAccessToken(state, { sub: session.sub, org: session.org, ttlS: ttl, ...(opts.scope ? { scope: opts.scope } : {}) });
  return TokenResponse.parse({
    access_token: access,
    refresh_token: refresh,
    token_type: 'Bearer',
    expires_in: ttl,
    ...(opts.scope ? { scope: opts.scope } : {}),
  });
}
