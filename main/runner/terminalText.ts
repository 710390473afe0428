/**
 * Text from agents and the server (output lines, prompts, reasons), made safe to print on a
 * terminal. A terminal acts on control characters instead of showing them: ESC starts sequences
 * that set the window title (OSC 0/2), write the clipboard (OSC 52) or clear the screen (CSI 2J,
 * ESC c); BEL rings, backspace and a carriage return overwrite what was printed; C1 controls do
 * the same in one character (U+009B is CSI, U+009D is OSC); bidi overrides and isolates reorder
 * what is shown. Each becomes a visible stand-in — C0 controls their Unicode control picture
 * (ESC → ␛, BEL → ␇, CR → ␍), DEL ␡, C1 `\x9b`, bidi `\u202e` — so the text can still be read.
 * Tabs and newlines are kept. Pure functions: the CLI and the logger's stderr lines share them.
 */

// eslint-disable-next-line no-control-regex -- finding control characters is the point
const UNSAFE = /[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]/;
const UNSAFE_ALL = new RegExp(UNSAFE.source, 'g');
/** A carriage return that ends a line (CRLF output, or a redrawn line's last state) overwrites nothing: dropped. */
const TRAILING_CR = /\r+(?=\n|$)/g;

function visible(c: string): string {
  const code = c.charCodeAt(0);
  if (code < 0x20) return String.fromCharCode(0x2400 + code);
  if (code === 0x7f) return '\u2421';
  if (code <= 0x9f) return `\\x${code.toString(16)}`;
  return `\\u${code.toString(16)}`;
}

/** `text` with every control character a terminal would act on made visible (see above); tabs and newlines kept. */
export function terminalSafe(text: string): string {
  if (!UNSAFE.test(text)) return text;
  return text.replace(TRAILING_CR, '').replace(UNSAFE_ALL, visible);
}

/** Characters `JSON.stringify` leaves raw that a terminal still acts on: DEL, C1 controls, bidi overrides. */
const JSON_UNSAFE = /[\x7f-\x9f\u202a-\u202e\u2066-\u2069]/g;

/**
 * JSON text (from `JSON.stringify`) with DEL, C1 controls and bidi overrides written as `\uXXXX`
 * escapes: the same JSON to a parser, inert on a terminal (`JSON.stringify` already escapes C0).
 * These characters can only occur inside JSON strings, where the escape means the same character.
 */
export function jsonSafe(json: string): string {
  return json.replace(JSON_UNSAFE, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}
