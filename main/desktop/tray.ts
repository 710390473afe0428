import { join } from 'node:path';
import type { ElectronSurface, MenuItemTemplate, TrayLike } from './electronSurface.ts';
import type { TrayAction, TrayIcon, TrayModel } from './trayModel.ts';

/** Tray image for a state: template images on macOS (tinted by the OS), colour PNGs elsewhere. */
export function trayImagePath(trayDir: string, icon: TrayIcon, platform: NodeJS.Platform): string {
  return join(trayDir, platform === 'darwin' ? `${icon}Template.png` : `${icon}.png`);
}

/**
 * Renders a TrayModel onto the real tray, only when it changed; actions go to `onAction(id)`.
 * Updates are coalesced for at most `delayMs`, so a burst of state changes renders once.
 * A left click opens the window (`onAction('open')`) on Windows and Linux, where it is the usual
 * gesture and the context menu is on the right button; on macOS any click opens the menu.
 */
export class TrayController {
  readonly #e: Pick<ElectronSurface, 'Menu' | 'nativeImage'>;
  readonly #tray: TrayLike;
  readonly #trayDir: string;
  readonly #platform: NodeJS.Platform;
  readonly #onAction: (id: TrayAction, checked?: boolean) => void;
  readonly #delayMs: number;
  #last: string | undefined;
  #lastIcon: TrayIcon | undefined;
  #pending: TrayModel | undefined;
  #timer: NodeJS.Timeout | undefined;
  renders = 0;

  constructor(opts: {
    electron: Pick<ElectronSurface, 'Menu' | 'nativeImage'>;
    tray: TrayLike;
    trayDir: string;
    platform: NodeJS.Platform;
    onAction: (id: TrayAction, checked?: boolean) => void;
    delayMs?: number;
  }) {
    this.#e = opts.electron;
    this.#tray = opts.tray;
    this.#trayDir = opts.trayDir;
    this.#platform = opts.platform;
    this.#onAction = opts.onAction;
    this.#delayMs = opts.delayMs ?? 50;
    // macOS shows the context menu on a left click itself; a 'click' handler there would open the window too.
    if (opts.platform !== 'darwin') this.#tray.on('click', () => this.#onAction('open'));
  }

  update(model: TrayModel): void {
    this.#pending = model;
    this.#timer ??= setTimeout(() => this.flush(), this.#delayMs);
  }

  flush(): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
    const model = this.#pending;
    this.#pending = undefined;
    if (!model) return;
    const key = JSON.stringify(model);
    if (key === this.#last) return;
    this.#last = key;
    this.renders++;
    if (model.icon !== this.#lastIcon) {
      this.#tray.setImage(this.#e.nativeImage.createFromPath(trayImagePath(this.#trayDir, model.icon, this.#platform)));
      this.#lastIcon = model.icon;
    }
    this.#tray.setToolTip(model.tooltip);
    const template: MenuItemTemplate[] = model.menu.map((item) =>
      item.type === 'separator'
        ? { type: 'separator' }
        : {
            id: item.id,
            label: item.label ?? '',
            type: item.type ?? 'normal',
            ...(item.checked !== undefined ? { checked: item.checked } : {}),
            ...(item.enabled !== undefined ? { enabled: item.enabled } : {}),
            click: () => this.#onAction(item.id, item.type === 'checkbox' ? !item.checked : undefined),
          },
    );
    this.#tray.setContextMenu(this.#e.Menu.buildFromTemplate(template));
  }

  dispose(): void {
    clearTimeout(this.#timer);
    this.#tray.destroy();
  }
}
