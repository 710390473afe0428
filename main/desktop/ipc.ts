import { dispatch } from '../app/dispatch.ts';
import { logger } from '../runner/logger.ts';
import { INVOKE_CHANNEL } from '../../preload/channels.ts';
import type { Handlers } from '../../preload/contract.ts';
import type { ElectronSurface, IpcInvokeEvent } from './electronSurface.ts';
import { isTrustedSender } from './senderCheck.ts';

const log = logger('ipc');

/** The one place IPC enters main: sender checked, input parsed by the contract, errors as data. */
export function registerIpc(ipcMain: ElectronSurface['ipcMain'], handlers: Handlers, ourWebContents: ReadonlySet<number>): void {
  ipcMain.handle(INVOKE_CHANNEL, async (event: IpcInvokeEvent, channel: unknown, input: unknown) => {
    const frame = event.senderFrame;
    const trusted = isTrustedSender(
      { webContentsId: event.sender.id, frameUrl: frame?.url ?? '', isMainFrame: frame !== null && frame.parent === null },
      ourWebContents,
    );
    if (!trusted) {
      log.warn('refused IPC from an untrusted sender', { channel: String(channel).slice(0, 60), url: frame?.url?.slice(0, 120) });
      return { ok: false, error: { code: 'forbidden', message: 'request from an untrusted frame' } };
    }
    return dispatch(handlers, channel, input);
  });
}
