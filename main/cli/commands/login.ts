import { accountOf, whoAmI, type SignedInAccount } from '../../runner/api/account.ts';
import { runDeviceFlow } from '../../runner/api/deviceFlow.ts';
import { normalizeServerUrl, type SibylApi } from '../../runner/api/sibylApi.ts';
import { saveLogin, storeCheckedToken } from '../../runner/api/tokens.ts';
import type { CredentialStore } from '../../runner/config/credentials.ts';
import { requireSecureTransport } from '../../runner/config/serverUrl.ts';
import { errorMessage, UsageError } from '../../runner/errors.ts';
import { redactUrl } from '../../runner/redact.ts';
import { parse, println, type Io } from '../args.ts';
import { commandContext } from '../context.ts';
import { HELP } from '../help.ts';
import { showDeviceCode, type DevicePrompt } from '../devicePrompt.ts';

/** Device flow, storing the tokens in the 0600 credentials file; the code is shown as devicePrompt.ts does. */
export async function deviceLogin(api: SibylApi, store: CredentialStore, io: Io): Promise<string> {
  const ac = new AbortController();
  const onInt = (): void => ac.abort();
  process.once('SIGINT', onInt);
  let prompt: DevicePrompt | undefined;
  try {
    const tokens = await runDeviceFlow(api, {
      clientName: 'sibyl-runner',
      onCode: (info) => (prompt = showDeviceCode(io, info)),
      signal: ac.signal,
    });
    prompt?.close();
    await saveLogin(store, tokens, api.serverUrl);
    return tokens.access_token;
  } finally {
    prompt?.close();
    process.off('SIGINT', onInt);
  }
}

/** "as Ada (ada@example.com) in Ada (owner)" from `GET /api/auth/me`; a failed lookup does not undo the sign-in. */
async function signedInAs(api: SibylApi, token: string): Promise<string> {
  try {
    return asAccount(await whoAmI(api, token));
  } catch (err) {
    return `(the server did not say as whom: ${errorMessage(err)})`;
  }
}

/** The window's words after a sign-in (its setup says "Signed in as Ada (ada@example.com) in Ada (owner)."). */
function asAccount(account: SignedInAccount): string {
  const org = account.organization ? ` in ${account.organization}${account.role ? ` (${account.role})` : ''}` : '';
  return `as ${account.label}${org}`;
}

export async function loginCommand(argv: string[], io: Io): Promise<number> {
  const { values } = parse('login', argv, {
    config: { type: 'string', short: 'c' },
    server: { type: 'string', short: 's' },
    token: { type: 'string' },
  });
  if (values.help) return (println(io.stdout, HELP.login), 0);
  const ctx = commandContext(values.config !== undefined ? { config: values.config } : {}, io);
  const server = values.server ?? ctx.config.server_url;
  if (!server) throw new UsageError('--server URL is required (no server_url in the config yet)');
  const serverUrl = normalizeServerUrl(server, values.server !== undefined ? '--server' : undefined);
  // Before the device flow or a pasted token goes anywhere: plain HTTP to another machine is refused (or warned about once).
  requireSecureTransport(serverUrl, {
    allowInsecureHttp: ctx.config.allow_insecure_http,
    source: { ...(values.server !== undefined ? { label: '--server' } : {}), file: ctx.path },
  });
  const api = ctx.api(serverUrl);
  if (values.token !== undefined) {
    if (!values.token.trim()) throw new UsageError('--token is empty');
    const me = await storeCheckedToken(ctx.credentials, api, values.token.trim());
    println(io.stdout, `Signed in to ${redactUrl(api.serverUrl)} ${asAccount(accountOf(me))}.`);
    println(io.stdout, `The token is stored in ${ctx.credentials.describe()}.`);
    return 0;
  }
  const token = await deviceLogin(api, ctx.credentials, io);
  println(io.stdout, `Signed in to ${redactUrl(api.serverUrl)} ${await signedInAs(api, token)}.`);
  println(io.stdout, `Credentials are stored in ${ctx.credentials.describe()}.`);
  return 0;
}
