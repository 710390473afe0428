import { readFile } from 'node:fs/promises';
import { extname } from 'node:path';
import { parse as parseToml, TomlError } from 'smol-toml';
import { parse as parseYaml, YAMLError } from 'yaml';
import type * as z from 'zod';
import { ConfigError, errorMessage, type Remedy } from '../errors.ts';

export type ConfigFormat = 'yaml' | 'json' | 'toml';

export interface ReadValidatedOptions {
  /** The file's syntax; by default from its extension (.json, .toml, else YAML). */
  format?: ConfigFormat;
  /** What the user should do about a bad file (default `fixConfig`; a credentials file is `signIn`). */
  remedy?: Remedy;
}

/** Issues named in one message; the rest are counted, so a badly broken file still reads as one line. */
const MAX_ISSUES = 5;

/**
 * Read a settings-like file, parse it and validate it with `schema`. Resolves to undefined when the
 * file does not exist or holds no YAML document, so each caller decides what absence means.
 * Every failure is a ConfigError naming the file (and the line, or every bad key).
 */
export async function readValidated<S extends z.ZodType>(
  file: string,
  schema: S,
  opts: ReadValidatedOptions = {},
): Promise<z.output<S> | undefined> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw unreadable(file, err);
  }
  const format = opts.format ?? formatOf(file);
  let data: unknown;
  try {
    data = format === 'json' ? JSON.parse(text) : format === 'toml' ? parseToml(text) : parseYaml(text);
  } catch (err) {
    throw syntaxError(file, format, err, opts.remedy);
  }
  if (format === 'yaml' && (data === null || data === undefined)) return undefined;
  const parsed = schema.safeParse(data);
  if (!parsed.success) throw validationError(file, parsed.error, { remedy: opts.remedy });
  return parsed.data;
}

/** `<file>: key "a.b": <message>; key "c": <message>`, for data a caller has already parsed. */
export function validationError(file: string, error: z.ZodError, opts: { remedy?: Remedy; prefix?: string } = {}): ConfigError {
  const named = error.issues.slice(0, MAX_ISSUES).map((issue) => {
    const key = issue.path.map(String).join('.');
    return key ? `key "${key}": ${issue.message}` : issue.message;
  });
  const more = error.issues.length - named.length;
  if (more > 0) named.push(`and ${more} more`);
  const key = error.issues[0]?.path.map(String).join('.');
  return new ConfigError(`${opts.prefix ?? ''}${file}: ${named.join('; ')}`, {
    remedy: opts.remedy ?? 'fixConfig',
    context: { file, key },
  });
}

/** A file that cannot be parsed at all: `<file>: not valid YAML at line 3, column 1: <what the parser said>`. */
export function syntaxError(file: string, format: ConfigFormat, err: unknown, remedy?: Remedy): ConfigError {
  const { detail, line, column } = describeSyntaxError(err);
  const at = line === undefined ? '' : ` at line ${line}${column === undefined ? '' : `, column ${column}`}`;
  return new ConfigError(`${file}: not valid ${format.toUpperCase()}${at}: ${detail}`, {
    cause: err,
    remedy: remedy ?? 'fixConfig',
    context: { file, line },
  });
}

/** A file that exists but cannot be read (permissions, a folder in its place…). */
export function unreadable(file: string, err: unknown): ConfigError {
  return new ConfigError(`cannot read ${file}: ${errorMessage(err)}`, { cause: err, context: { file } });
}

function formatOf(file: string): ConfigFormat {
  const ext = extname(file).toLowerCase();
  return ext === '.json' ? 'json' : ext === '.toml' ? 'toml' : 'yaml';
}

/** Each parser reports the position its own way; the message keeps only what it says went wrong. */
function describeSyntaxError(err: unknown): { detail: string; line?: number; column?: number } {
  const first = errorMessage(err).split('\n')[0] ?? '';
  if (err instanceof YAMLError) {
    const pos = err.linePos?.[0];
    return { detail: first.replace(/ at line \d+, column \d+:?$/, ''), line: pos?.line, column: pos?.col };
  }
  if (err instanceof TomlError) return { detail: first.replace(/^Invalid TOML document: /, ''), line: err.line, column: err.column };
  // V8: "Unexpected token } in JSON at position 10 (line 3 column 1)".
  const json = /^(.*?)(?: at position \d+)?(?: \(line (\d+) column (\d+)\))?$/.exec(first);
  if (json?.[2] !== undefined) return { detail: json[1] ?? first, line: Number(json[2]), column: Number(json[3]) };
  return { detail: first };
}
