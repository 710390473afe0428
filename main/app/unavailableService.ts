import type { AppState, Handlers } from '../../preload/contract.ts';
import { RunnerError } from '../runner/errors.ts';
import { startErrorOf } from './appContext.ts';
import { everyChannel } from './dispatch.ts';
import type { AppService } from './appService.ts';

/**
 * The window's service when the application layer itself could not be built (an invalid
 * runner.yaml or a failed runner start do not get here: createAppService keeps those in
 * AppState.startError and stays usable). The window and the tray still show what went wrong:
 * `app:state` carries `startError`, every other request fails with the same error.
 */
export function unavailableAppService(err: unknown): AppService {
  const startError = startErrorOf(err);
  let version = 0;
  const state = (): AppState => ({
    version: ++version,
    registered: false,
    serverUrl: '',
    runnerName: '',
    runnerId: '',
    attached: false,
    signedIn: false,
    startError,
    core: { state: 'stopped' },
    daemon: null,
  });
  const fail = async (): Promise<never> => {
    throw new RunnerError(startError.code, `Sibyl Runner could not start: ${startError.message} (quit and open it again once fixed)`, {
      remedy: startError.remedy,
    });
  };
  const handlers: Handlers = { ...everyChannel(() => fail), 'app:state': async () => state() };
  return {
    handlers,
    state,
    kick: () => {},
    onTaskFinished: () => () => {},
    onEvent: () => () => {},
    close: async () => {},
  };
}
