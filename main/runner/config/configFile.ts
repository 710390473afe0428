import { readFileSync, realpathSync, statSync } from 'node:fs';
import YAML, { isMap, type Document } from 'yaml';
import { ConfigError } from '../errors.ts';
import { writeFileAtomicSync } from './atomicWrite.ts';
import { syntaxError, unreadable, validationError } from './readValidated.ts';
import { ConfigFileSchema, SECRET_KEYS, type ConfigFile } from './schema.ts';
import { patchYamlText } from './yamlEdit.ts';

type Store = Record<string, unknown>;

/**
 * runner.yaml on disk. People annotate this file, so an update rewrites only the lines of the
 * values that change (yamlEdit.ts): comments, their spacing, key order, quoting, anchors, line ends
 * and unknown keys survive, and new keys are appended. Read fresh on every call; one process owns
 * writes to a given file; writes are atomic.
 */
export class RunnerConfigFile {
  readonly path: string;

  constructor(path: string) {
    this.path = path;
  }

  /** The raw mapping (unknown keys included), or {} when the file does not exist. */
  raw(): Store {
    return this.#mapping(this.#load().doc);
  }

  /** Validated known keys; an invalid value names the file, the key and what was expected. */
  read(): ConfigFile {
    const parsed = ConfigFileSchema.safeParse(this.raw());
    if (!parsed.success) throw validationError(this.path, parsed.error);
    return parsed.data;
  }

  /**
   * Merge `patch` into the file, keeping every other key (unknown ones too); `undefined` removes a
   * key. Secrets are never written. A key whose value is already the one given is left alone, and
   * when nothing changes the file is not written at all.
   */
  update(patch: ConfigFile): void {
    const { text, doc } = this.#load();
    const current = this.#mapping(doc);
    const changes: Store = {};
    for (const [key, value] of Object.entries(patch)) changes[key] = (SECRET_KEYS as readonly string[]).includes(key) ? undefined : value;
    const next: Store = { ...current, ...changes };
    for (const [key, value] of Object.entries(changes)) if (value === undefined) delete next[key];
    const check = ConfigFileSchema.safeParse(next);
    if (!check.success) throw validationError(this.path, check.error, { prefix: 'refusing to write ' });
    const out = patchYamlText(text, doc, changes);
    if (out === undefined) return;
    const target = this.#target();
    writeFileAtomicSync(target.path, out, target.mode);
  }

  /** The text and its parsed document; a missing file is an empty one. */
  #load(): { text: string; doc: Document } {
    let text = '';
    try {
      text = readFileSync(this.path, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw unreadable(this.path, err);
    }
    const doc = YAML.parseDocument(text);
    const [error] = doc.errors;
    if (error) throw syntaxError(this.path, 'yaml', error);
    return { text, doc };
  }

  #mapping(doc: Document): Store {
    const value = doc.toJS() as unknown;
    if (value === null || value === undefined) return {};
    if (!isMap(doc.contents))
      throw new ConfigError(`${this.path}: expected a YAML mapping of keys to values`, { context: { file: this.path } });
    return value as Store;
  }

  /** Write through a symlink (dotfile managers link runner.yaml), keeping the file's mode; 0644 for a new file. */
  #target(): { path: string; mode: number } {
    try {
      const path = realpathSync(this.path);
      return { path, mode: statSync(path).mode & 0o777 };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw unreadable(this.path, err);
      return { path: this.path, mode: 0o644 };
    }
  }
}
