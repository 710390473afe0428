import type { Io } from './args.ts';

/** SGR codes the CLI uses: green, yellow, red, dim, bold. */
export const SGR = { green: '32', yellow: '33', red: '31', dim: '2', bold: '1' } as const;
export type Sgr = (typeof SGR)[keyof typeof SGR];

/**
 * Colour only for a person at a terminal: `stream` (stdout unless given) is a TTY, the CLI runs in
 * one (Io.isTTY), and NO_COLOR is unset or empty (https://no-color.org). A pipe, a file, a service's
 * journal and CI logs get plain text.
 */
export function colourOn(io: Io, stream: NodeJS.WritableStream = io.stdout): boolean {
  const streamIsTTY = 'isTTY' in stream && stream.isTTY === true;
  return io.isTTY && streamIsTTY && !io.env.NO_COLOR;
}

/** `paint(SGR.red, text)`: the text in colour when `on`, else as it is. Paint text already made terminal-safe. */
export function painter(on: boolean): (sgr: Sgr, text: string) => string {
  return on ? (sgr, text) => `\x1b[${sgr}m${text}\x1b[0m` : (_sgr, text) => text;
}
