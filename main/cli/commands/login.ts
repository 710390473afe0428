import { runDeviceFlow, type DeviceCodeInfo } from '../../runner/api/deviceFlow.ts';
import { normalizeServerUrl, type SibylApi } from '../../runner/api/sibylApi.ts';
import { saveLogin, storeToken } from '../../runner/api/tokens.ts';
import type { CredentialStore } from '../../runner/config/credentials.ts';
import { requireSecureTransport } from '../../runner/config/serverUrl.ts';
import { UsageError } from '../../runner/errors.ts';
import { parse, println, type Io } from '../args.ts';
import { commandContext } from '../context.ts';
import { HELP } from '../help.ts';

export function showDeviceCode(io: Io, info: DeviceCodeInfo): void {
  println(io.stderr, '');
  println(io.stderr, `  To sign in, open ${info.verificationUri}`);
  println(io.stderr, `  and enter the code:  ${info.userCode}`);
  println(io.stderr, `  (or open ${info.verificationUriComplete})`);
  println(io.stderr, `  Waiting for approval; the code expires in ${Math.round(info.expiresInS / 60)} minutes…`);
  println(io.stderr, '');
}

/** Device flow, storing the tokens in the 0600 credentials file. */
export async function deviceLogin(api: SibylApi, store: CredentialStore, io: Io): Promise<string> {
  const ac = new AbortController();
  const onInt = (): void => ac.abort();
  process.once('SIGINT', onInt);
  try {
    const tokens = await runDeviceFlow(api, { clientName: 'sibyl-runner', onCode: (info) => showDeviceCode(io, info), signal: ac.signal });
    await saveLogin(store, tokens, api.serverUrl);
    return tokens.access_token;
  } finally {
    process.off('SIGINT', onInt);
  }
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
    const user = await storeToken(ctx.credentials, api, values.token.trim());
    println(io.stdout, `Signed in to ${api.serverUrl} as ${user} (token stored in ${ctx.credentials.describe()}).`);
    return 0;
  }
  await deviceLogin(api, ctx.credentials, io);
  println(io.stdout, `Signed in to ${api.serverUrl}; credentials stored in ${ctx.credentials.describe()}.`);
  return 0;
}
