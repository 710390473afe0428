import { mkdirSync, readFileSync, realpathSync, rmSync, statSync } from 'node:fs';
import { FILE_SETTINGS, type FileSettingField, type Handlers, type Settings } from '../../../preload/contract.ts';
import { writeFileAtomicSync } from '../../runner/config/atomicWrite.ts';
import type { ConfigFile } from '../../runner/config/schema.ts';
import { logger } from '../../runner/logger.ts';
import type { AppContext } from '../appContext.ts';
import { aboutOf } from '../diagnostics.ts';

const log = logger('settings');

type SettingsPatch = Partial<Omit<Settings, 'credentialsStorage' | 'credentialsSummary'>>;

/** When the store has no words of its own (CredentialStore.summary is optional). */
const STORED_LOCALLY = 'Stored on this computer';

/** The runner.yaml part of a window patch, by the FILE_SETTINGS table. */
export function filePatchOf(patch: SettingsPatch): ConfigFile {
  const file: Record<string, unknown> = {};
  for (const field of Object.keys(FILE_SETTINGS) as FileSettingField[]) {
    if (patch[field] !== undefined) file[FILE_SETTINGS[field]] = patch[field];
  }
  return file;
}

async function currentSettings(app: AppContext): Promise<Settings> {
  const c = app.loaded.config;
  const fromFile = Object.fromEntries(Object.entries(FILE_SETTINGS).map(([field, key]) => [field, c[key]])) as Pick<
    Settings,
    FileSettingField
  >;
  // Attached: the headless daemon's live capacity is the truth (its runner.yaml is its own).
  const live = app.host.attached ? app.host.snapshot()?.runner.maxAgents : undefined;
  if (live !== undefined) fromFile.maxAgents = live;
  // One read of the OS's login item (a file on Linux, a system call on macOS): get() would read it again.
  const item = await app.ports.loginItem.state?.();
  const hint = item?.hint;
  return {
    startAtLogin: item ? item.status === 'enabled' : await app.ports.loginItem.get(),
    ...(hint ? { startAtLoginHint: hint } : {}),
    notifications: app.notifications,
    ...fromFile,
    credentialsStorage: app.credentials.describe(),
    credentialsSummary: app.credentials.summary?.() ?? STORED_LOCALLY,
  };
}

/**
 * Everything is checked before the first side effect: while a headless daemon owns runner.yaml
 * only max agents can change (through its control socket); otherwise the merged file must
 * validate and resolve (absolute paths, ranges) exactly as a start-up would read it.
 */
function checkPatch(app: AppContext, file: ConfigFile): void {
  const keys = Object.keys(file);
  if (!keys.length) return;
  if (app.host.attached) {
    if (keys.some((k) => k !== FILE_SETTINGS.maxAgents))
      app.requireOwnConfig('change the configuration (only max agents can be changed from here)');
    return;
  }
  app.checkFilePatch(file);
}

/** One change and how to take it back; undone in reverse order when a later step fails. */
type Undo = () => Promise<void> | void;

/**
 * Apply a settings patch all-or-nothing: runner.yaml first (then the running daemon's capacity,
 * and a restart when the worktree folder moved), then the login item and the notification
 * preference. When a step fails, the steps before it are undone — runner.yaml is restored byte
 * for byte and the daemon put back as it was — and the error is raised. Raises ConfigError
 * (remedy fixConfig) or RunnerError `attached` before any change.
 */
async function applySettings(app: AppContext, patch: SettingsPatch): Promise<void> {
  const file = filePatchOf(patch);
  checkPatch(app, file);
  const undo: Undo[] = [];
  try {
    if (Object.keys(file).length > 0) undo.push(await applyFile(app, file));
    if (patch.startAtLogin !== undefined) {
      const before = await app.ports.loginItem.get();
      await app.ports.loginItem.set(patch.startAtLogin);
      undo.push(() => app.ports.loginItem.set(before));
    }
    if (patch.notifications !== undefined) {
      const before = app.notifications;
      app.setNotifications(patch.notifications);
      undo.push(() => app.setNotifications(before));
    }
  } catch (err) {
    for (const step of undo.reverse()) {
      try {
        await step();
      } catch (undoErr) {
        log.error('could not undo a settings change', { error: undoErr });
      }
    }
    throw err;
  }
}

/** The runner.yaml part; returns how to undo it. Undoes itself when it fails halfway. */
async function applyFile(app: AppContext, file: ConfigFile): Promise<Undo> {
  const maxAgents = file.max_concurrent_agents;
  const capacityBefore = app.host.snapshot()?.runner.maxAgents;
  if (app.host.attached) {
    // One writer per file: the headless daemon owns runner.yaml while it runs.
    await app.host.command({ method: 'setMaxAgents', maxAgents: maxAgents! });
    return async () => {
      if (capacityBefore !== undefined) await app.host.command({ method: 'setMaxAgents', maxAgents: capacityBefore });
    };
  }
  const restore = restoreFile(app.loaded.path);
  let restarted = false;
  const undo: Undo = async () => {
    restore();
    app.reload();
    if (restarted) await app.restart();
    else if (capacityBefore !== undefined && app.host.snapshot())
      await app.host.command({ method: 'setMaxAgents', maxAgents: capacityBefore });
  };
  // A runner.yaml that was invalid ran nothing: once this patch fixes it, start the runner.
  const wasBroken = app.configBroken;
  try {
    app.loaded.file.update(file);
    app.reload();
    if (maxAgents !== undefined && app.host.snapshot()) await app.host.command({ method: 'setMaxAgents', maxAgents });
    if (file.worktree_base !== undefined || wasBroken) {
      restarted = true;
      await app.restart();
    }
  } catch (err) {
    await Promise.resolve(undo()).catch((undoErr: unknown) => log.error('could not undo a runner.yaml change', { error: undoErr }));
    throw err;
  }
  return undo;
}

/** Put a file back as it was (or remove it if it did not exist); through a symlink, the target, with its mode. */
function restoreFile(path: string): () => void {
  let before: { text: string; target: string; mode: number } | undefined;
  try {
    const target = realpathSync(path);
    before = { text: readFileSync(target, 'utf8'), target, mode: statSync(target).mode & 0o777 };
  } catch {
    before = undefined;
  }
  return () => {
    if (before === undefined) rmSync(path, { force: true });
    else writeFileAtomicSync(before.target, before.text, before.mode);
  };
}

/** Settings as the window shows them, changes applied all-or-nothing, and the About section. */
export function settingsHandlers(
  app: AppContext,
): Pick<Handlers, 'settings:get' | 'settings:set' | 'settings:about' | 'settings:openLogs'> {
  return {
    'settings:get': async () => currentSettings(app),
    'settings:set': async (patch) => {
      await applySettings(app, patch);
      return currentSettings(app);
    },
    'settings:about': async () =>
      aboutOf({
        state: app.state(),
        configPath: app.loaded.path,
        logsFolder: app.loaded.config.log_dir,
        credentials: app.credentials.summary?.() ?? STORED_LOCALLY,
      }),
    'settings:openLogs': async () => {
      const folder = app.loaded.config.log_dir;
      // Before the first run there is no folder yet; an empty one opens instead of an OS error.
      mkdirSync(folder, { recursive: true });
      await app.ports.openPath(folder);
      return { ok: true as const };
    },
  };
}
