import type { DeviceCodeInfo } from '../runner/api/deviceFlow.ts';
import { terminalSafe } from '../runner/terminalText.ts';
import { println, type Io } from './args.ts';
import { openInBrowser } from './openBrowser.ts';

/**
 * The device code as `login` shows it (issue 15, item 18). Everywhere: the address, the code and
 * the address with the code filled in. On a terminal, also: Enter opens the browser at that
 * address, and a line counting down the code's remaining time, redrawn in place once a second.
 * Without a terminal (a pipe, a service), the text only, with the minutes the code lasts.
 */
export interface DevicePrompt {
  /** Stop the countdown and stop reading the keyboard; the last line is ended. Idempotent. */
  close(): void;
}

/** How often the countdown is redrawn. */
const TICK_MS = 1000;

/** `9:58` for 598 s; `0:00` when the time is up. */
export function remaining(seconds: number): string {
  const s = Math.max(0, Math.ceil(seconds));
  return `${Math.floor(s / 60)}:${String(s % 60).padStart(2, '0')}`;
}

export function showDeviceCode(io: Io, info: DeviceCodeInfo, now: () => number = Date.now): DevicePrompt {
  const out = io.stderr;
  println(out, '');
  println(out, `  To sign in, open ${info.verificationUri}`);
  println(out, `  and enter the code:  ${info.userCode}`);
  println(out, `  (or open ${info.verificationUriComplete})`);
  if (!io.isTTY) {
    println(out, `  Waiting for approval; the code expires in ${Math.round(info.expiresInS / 60)} minutes…`);
    println(out, '');
    return { close: () => undefined };
  }
  println(out, '');
  println(out, '  Press Enter to open the browser there, or Ctrl+C to cancel.');
  const expiresAt = now() + info.expiresInS * 1000;
  // The line is redrawn in place: carriage return, erase the line, then the text (made terminal-safe itself).
  const draw = (): void =>
    void out.write(`\r\x1b[2K  ${terminalSafe(`Waiting for approval… ${remaining((expiresAt - now()) / 1000)} left`)}`);
  draw();
  const timer = setInterval(draw, TICK_MS);
  const stdin = process.stdin;
  let closed = false;
  const onLine = (): void => {
    void openInBrowser(info.verificationUriComplete, io.env).then((opened) => {
      if (closed) return;
      // The terminal echoed the Enter: the countdown goes on below what is said here.
      out.write('\r\x1b[2K');
      println(out, opened.ok ? '  Opened the browser.' : `  Could not open a browser (${opened.why}); open the address above yourself.`);
      draw();
    });
  };
  stdin.on('data', onLine);
  stdin.resume();
  return {
    close: () => {
      if (closed) return;
      closed = true;
      clearInterval(timer);
      stdin.off('data', onLine);
      // Paused again, so reading the keyboard no longer keeps the process alive.
      stdin.pause();
      out.write('\n');
    },
  };
}
