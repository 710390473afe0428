import type { MeResponse } from './schemas.ts';
import type { SibylApi } from './sibylApi.ts';

/**
 * Who a token signs in as, from `GET /api/auth/me` (§2.8), in the words every face shows after a
 * sign-in: `label` is "Ada (ada@example.com)" (the name, the e-mail, else the user id),
 * `organization` the organization's name (null when the token is bound to none), `role` the
 * user's role in it.
 */
export interface SignedInAccount {
  label: string;
  name: string | null;
  email: string | null;
  organization: string | null;
  role: 'owner' | 'admin' | 'member' | 'viewer' | null;
}

export function accountOf(me: MeResponse): SignedInAccount {
  const name = me.user.name?.trim() || null;
  const email = me.user.email?.trim() || null;
  const label = name && email ? `${name} (${email})` : (name ?? email ?? me.user.id);
  return { label, name, email, organization: me.organization?.name ?? null, role: me.org_role };
}

/**
 * Ask the server who `token` signs in as. Raises what `SibylApi.me` raises: AuthError when the
 * token is refused (401), ServerError when the server cannot be reached or answers otherwise.
 */
export async function whoAmI(api: SibylApi, token: string, opts?: { signal?: AbortSignal }): Promise<SignedInAccount> {
  return accountOf(await api.me(token, opts));
}
