import { basename, dirname, extname } from 'node:path';
import Conf from 'conf';
import YAML from 'yaml';
import { ConfigError } from '../errors.ts';
import { ConfigFileSchema, SECRET_KEYS, type ConfigFile } from './schema.ts';

type Store = Record<string, unknown>;

/**
 * runner.yaml on disk, through `conf` (the engine under electron-store, so the desktop app shares
 * the same file): YAML serializer, atomic writes. One process owns writes to a given file.
 */
export class RunnerConfigFile {
  readonly path: string;
  readonly #conf: Conf<Store>;

  constructor(path: string) {
    this.path = path;
    const ext = extname(path);
    this.#conf = this.#guard(
      () =>
        new Conf<Store>({
          cwd: dirname(path),
          configName: basename(path, ext),
          fileExtension: ext.replace(/^\./, ''),
          serialize: (value) => YAML.stringify(value),
          deserialize: (text) => {
            const doc = YAML.parse(text) as unknown;
            if (doc === null || doc === undefined) return {};
            if (typeof doc !== 'object' || Array.isArray(doc)) throw new ConfigError(`${path}: expected a YAML mapping of keys to values`);
            return doc as Store;
          },
          accessPropertiesByDotNotation: false,
          configFileMode: 0o644,
        }),
    );
  }

  /** conf reads the file in its constructor and on every access: turn any parse failure into a ConfigError. */
  #guard<T>(fn: () => T): T {
    try {
      return fn();
    } catch (err) {
      if (err instanceof ConfigError) throw err;
      throw new ConfigError(`${this.path}: cannot be read as YAML: ${(err as Error).message.split('\n')[0]}`, { cause: err });
    }
  }

  /** The raw mapping (unknown keys included), or {} when the file does not exist. */
  raw(): Store {
    return this.#guard(() => this.#conf.store);
  }

  /** Validated known keys; an invalid value names the file, the key and what was expected. */
  read(): ConfigFile {
    const parsed = ConfigFileSchema.safeParse(this.raw());
    if (!parsed.success) {
      const issue = parsed.error.issues[0]!;
      const key = issue.path.join('.') || '(root)';
      throw new ConfigError(`${this.path}: key "${key}": ${issue.message}`);
    }
    return parsed.data;
  }

  /** Merge `patch` into the file, keeping every other key (unknown ones too). Secrets are never written. */
  update(patch: ConfigFile): void {
    const next: Store = { ...this.raw(), ...patch };
    for (const key of SECRET_KEYS) if (key in patch) delete next[key];
    const check = ConfigFileSchema.safeParse(next);
    if (!check.success) {
      const issue = check.error.issues[0]!;
      throw new ConfigError(`refusing to write ${this.path}: key "${issue.path.join('.')}": ${issue.message}`);
    }
    this.#conf.store = next;
  }
}
