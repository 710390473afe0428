import pkg from '../../package.json' with { type: 'json' };

/** Sent as `client_version` at registration (≤ 32 chars, §3.2). */
export const RUNNER_VERSION: string = pkg.version.slice(0, 32);
