import { readFileSync, realpathSync, statSync } from 'node:fs';
import YAML, { isCollection, isMap, isNode, isScalar, type Document } from 'yaml';
import { ConfigError } from '../errors.ts';
import { writeFileAtomicSync } from './atomicWrite.ts';
import { syntaxError, unreadable, validationError } from './readValidated.ts';
import { ConfigFileSchema, SECRET_KEYS, type ConfigFile } from './schema.ts';

type Store = Record<string, unknown>;

/** yaml's defaults would fold long values at 80 columns and pad `[a, b]` as `[ a, b ]`, rewriting lines nobody edited. */
const UNCHANGED_LAYOUT = { lineWidth: 0, flowCollectionPadding: false } as const;

/**
 * runner.yaml on disk. People annotate this file, so edits go through the `yaml` Document API:
 * comments, key order, quoting and unknown keys survive an update, and new keys are appended.
 * Read fresh on every call; one process owns writes to a given file; writes are atomic.
 */
export class RunnerConfigFile {
  readonly path: string;

  constructor(path: string) {
    this.path = path;
  }

  /** The raw mapping (unknown keys included), or {} when the file does not exist. */
  raw(): Store {
    return this.#mapping(this.#load());
  }

  /** Validated known keys; an invalid value names the file, the key and what was expected. */
  read(): ConfigFile {
    const parsed = ConfigFileSchema.safeParse(this.raw());
    if (!parsed.success) throw validationError(this.path, parsed.error);
    return parsed.data;
  }

  /** Merge `patch` into the file, keeping every other key (unknown ones too). Secrets are never written. */
  update(patch: ConfigFile): void {
    const doc = this.#load();
    if (!isMap(doc.contents)) {
      this.#mapping(doc);
      doc.contents = doc.createNode({});
    }
    for (const [key, value] of Object.entries(patch)) {
      if (value === undefined || (SECRET_KEYS as readonly string[]).includes(key)) doc.delete(key);
      else setKeepingStyle(doc, key, value);
    }
    const check = ConfigFileSchema.safeParse(this.#mapping(doc));
    if (!check.success) throw validationError(this.path, check.error, { prefix: 'refusing to write ' });
    const target = this.#target();
    writeFileAtomicSync(target.path, doc.toString(UNCHANGED_LAYOUT), target.mode);
  }

  /** The parsed document; a missing file is an empty one. */
  #load(): Document {
    let text = '';
    try {
      text = readFileSync(this.path, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw unreadable(this.path, err);
    }
    const doc = YAML.parseDocument(text);
    const [error] = doc.errors;
    if (error) throw syntaxError(this.path, 'yaml', error);
    return doc;
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

/**
 * Replace a value without losing how the user wrote it: a scalar keeps its node (inline comment,
 * quoting); a list keeps its flow or block style and the comments around it.
 */
function setKeepingStyle(doc: Document, key: string, value: unknown): void {
  const prev = doc.get(key, true);
  if (isScalar(prev) && (value === null || typeof value !== 'object')) {
    prev.value = value;
    return;
  }
  const node = doc.createNode(value);
  if (isNode(prev)) {
    node.comment = prev.comment;
    node.commentBefore = prev.commentBefore;
    node.spaceBefore = prev.spaceBefore;
    if (isCollection(prev) && isCollection(node)) node.flow = prev.flow;
  }
  doc.set(key, node);
}
