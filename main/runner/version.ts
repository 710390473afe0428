import { readFileSync } from 'node:fs';

/** Sent as `client_version` at registration (≤ 32 chars, §3.2). */
export const RUNNER_VERSION: string = (JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }).version.slice(0, 32);
