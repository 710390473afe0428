import { coreCommand, type CoreExit, type CoreLauncher } from '../app/coreLauncher.ts';

/** The part of Electron's UtilityProcess the core needs (Electron 45: utility-process docs). */
export interface UtilityProcessLike {
  readonly pid: number | undefined;
  /** with `stdio: 'pipe'` */
  readonly stderr: NodeJS.ReadableStream | null;
  on(event: 'message', listener: (message: unknown) => void): unknown;
  /** `code`: from waitpid on POSIX, GetExitCodeProcess on Windows; also emitted after 'error' */
  on(event: 'exit', listener: (code: number) => void): unknown;
  postMessage(message: unknown): void;
  /** SIGTERM on POSIX (reaped), a hard kill on Windows */
  kill(): boolean;
}

/** `utilityProcess` as the desktop shell uses it: fork only after app 'ready'. */
export interface UtilityProcessModule {
  fork(
    modulePath: string,
    args: string[],
    options: {
      env: Record<string, string>;
      stdio: 'pipe' | ['ignore', 'ignore' | 'pipe', 'pipe'];
      serviceName: string;
      /** Node's flags for the child */
      execArgv?: string[];
    },
  ): UtilityProcessLike;
}

/** How long a core that was told to end (kill) may take before SIGKILL (POSIX: utilityProcess.kill() is SIGTERM, which drains). */
const KILL_GRACE_MS = 3000;

/**
 * The runner core in an Electron utilityProcess: a Node.js child launched through Chromium's
 * services, off the main process's thread, named "Sibyl Runner core" in the OS's process list and
 * `app.getAppMetrics()`. `entry` is the CLI launcher shipped beside the app
 * (resources/cli/bin/sibyl-runner.js, loading ../out/cli.mjs; an ES module, which utilityProcess
 * runs through Node's ESM loader). Its channel is `process.parentPort`, which
 * parentCredentials.ts uses for the app's credentials. It ends with the app: Chromium does not
 * leave utility processes behind its browser process.
 */
export function utilityCoreLauncher(utility: UtilityProcessModule, o: { entry: string }): CoreLauncher {
  return {
    launch(req) {
      const { args, env } = coreCommand(req);
      // --expose-gc: the daemon collects what agent output leaves behind (tasks/outputCollection.ts);
      // given at launch, it need not turn the flag on at run time.
      const proc = utility.fork(o.entry, args, {
        env,
        stdio: ['ignore', 'ignore', 'pipe'],
        serviceName: 'Sibyl Runner core',
        execArgv: ['--expose-gc'],
      });
      const exited = new Promise<CoreExit>((resolve) => proc.on('exit', (code) => resolve({ code, signal: null })));
      let gone = false;
      void exited.then(() => (gone = true));
      proc.stderr?.setEncoding('utf8');
      return {
        pid: proc.pid,
        onMessage: (fn) => void proc.on('message', fn),
        send: (msg) => {
          if (!gone) proc.postMessage(msg);
        },
        onStderr: (fn) => void proc.stderr?.on('data', (chunk: string | Buffer) => fn(String(chunk))),
        exited,
        kill: () => {
          if (gone) return;
          proc.kill();
          // kill() is SIGTERM on POSIX: a core that is already draining takes it as "hurry"; make sure it ends.
          const pid = proc.pid;
          if (process.platform !== 'win32' && pid !== undefined)
            setTimeout(() => {
              if (gone) return;
              try {
                process.kill(pid, 'SIGKILL');
              } catch {
                // it ended in between
              }
            }, KILL_GRACE_MS).unref();
        },
      };
    },
  };
}
