/**
 * Channel names only (no zod), for the sandboxed preload bundle. test/desktop/preload.test.ts
 * checks they match the contract's events exactly.
 */
export const INVOKE_CHANNEL = 'sibyl:invoke';
export const EVENT_CHANNEL = 'sibyl:event';
export const EVENT_NAMES = ['app:state', 'task:lines', 'wizard:device', 'app:navigate'] as const;
