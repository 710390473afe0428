import { AppStateView } from './appState.ts';
import { messageOf, on } from './bridge.ts';
import { connectionWords } from './connectionWords.ts';
import { h, mount, setText } from './dom.ts';
import { LiveLogs } from './liveLogs.ts';
import { dashboardScreen } from './dashboard.ts';
import { historyScreen } from './history.ts';
import { taskDetailScreen } from './taskDetail.ts';
import { settingsScreen } from './settings.ts';
import { wizardScreen } from './wizard/wizard.ts';
import type { Screen, ScreenContext } from './screen.ts';

type Route = { name: 'wizard' } | { name: 'dashboard' } | { name: 'history' } | { name: 'task'; taskId: string } | { name: 'settings' };

/** Routes live in the hash, so the window never navigates (main denies navigation anyway). */
function parseRoute(hash: string): Route | null {
  const [, first, second] = hash.replace(/^#/, '').split('/');
  switch (first) {
    case 'wizard':
      return { name: 'wizard' };
    case 'dashboard':
      return { name: 'dashboard' };
    case 'history':
      return second ? { name: 'task', taskId: decodeURIComponent(second) } : { name: 'history' };
    case 'settings':
      return { name: 'settings' };
    default:
      return null;
  }
}

const NAV = [
  ['dashboard', 'Dashboard'],
  ['history', 'History'],
  ['settings', 'Settings'],
] as const;

async function boot(root: HTMLElement): Promise<void> {
  if (!('sibyl' in window)) {
    mount(root, h('p', { class: 'boot msg msg-error' }, 'This page runs inside Sibyl Runner: the bridge to the app is missing.'));
    return;
  }
  const app = new AppStateView();
  const logs = new LiveLogs();
  logs.start();
  await app.start();

  const navLinks = NAV.map(([name, label]) => h('a', { href: `#/${name}`, 'data-route': name }, label));
  const dot = h('span', { class: 'dot', 'aria-hidden': 'true' });
  const linkText = h('span');
  const nav = h(
    'header',
    { class: 'topbar' },
    h('span', { class: 'brand' }, 'Sibyl Runner'),
    h('nav', { 'aria-label': 'Main' }, navLinks),
    h('span', { class: 'grow' }),
    h('span', { class: 'topbar-status', 'data-testid': 'topbar-status' }, dot, linkText),
  );
  const main = h('main', { id: 'main', tabindex: '-1' });
  mount(root, nav, main);

  let screen: Screen | null = null;
  let shown = '';
  let moved = false;
  const ctx: ScreenContext = { app, logs, navigate: (hash) => (location.hash === hash ? show() : (location.hash = hash)) };

  function show(): void {
    const state = app.current();
    let route = parseRoute(location.hash);
    // Nothing but the wizard makes sense before registration; after it, the dashboard is home.
    if (!state.registered && route?.name !== 'wizard') route = { name: 'wizard' };
    route ??= { name: 'dashboard' };
    const key = route.name === 'task' ? `task/${route.taskId}` : route.name;
    if (key === shown) return;
    shown = key;
    screen?.dispose();
    screen = create(route);
    nav.hidden = !state.registered && route.name === 'wizard';
    for (const link of navLinks)
      link.setAttribute(
        'aria-current',
        link.dataset.route === route.name || (route.name === 'task' && link.dataset.route === 'history') ? 'page' : 'false',
      );
    mount(main, screen.el);
    // After a move (not on first load, where Tab should start at the skip link), focus the new
    // screen's heading so keyboard and screen-reader users land on it.
    if (moved) (screen.el.querySelector<HTMLElement>('h1') ?? main).focus();
    moved = true;
    document.title = `${screen.el.querySelector('h1')?.textContent ?? 'Sibyl Runner'} — Sibyl Runner`;
  }

  function create(route: Route): Screen {
    switch (route.name) {
      case 'wizard':
        return wizardScreen(ctx);
      case 'dashboard':
        return dashboardScreen(ctx);
      case 'history':
        return historyScreen(ctx);
      case 'task':
        return taskDetailScreen(ctx, route.taskId);
      case 'settings':
        return settingsScreen(ctx);
    }
  }

  const renderTopbar = (): void => {
    // The window's colours and plain words (paused is not amber like a lost connection).
    const view = connectionWords(app.current());
    dot.dataset.tone = view.tone;
    setText(linkText, view.label);
    linkText.title = view.reason;
  };
  let registered = app.current().registered;
  app.subscribe((state) => {
    renderTopbar();
    // Signed out or unregistered elsewhere (tray, CLI): go back to setup.
    if (state.registered !== registered) {
      registered = state.registered;
      if (!registered) show();
      else nav.hidden = false;
    }
  });
  window.addEventListener('hashchange', show);
  // Main may ask for a screen, e.g. a task's detail picked from the tray menu or a notification.
  on('app:navigate', ({ route, taskId }) =>
    ctx.navigate(route === 'task' ? (taskId ? `#/history/${encodeURIComponent(taskId)}` : '#/history') : `#/${route}`),
  );
  document.querySelector('.skip-link')?.addEventListener('click', (e) => {
    e.preventDefault();
    (main.querySelector<HTMLElement>('h1') ?? main).focus();
  });
  renderTopbar();
  show();
}

const root = document.getElementById('app');
if (root) {
  boot(root).catch((err: unknown) => {
    mount(
      root,
      h(
        'div',
        { class: 'boot msg msg-error', role: 'alert' },
        h('strong', null, 'Sibyl Runner could not start its window. '),
        messageOf(err),
      ),
    );
  });
}
