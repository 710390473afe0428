import { execFileSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { extname, join, normalize, resolve } from 'node:path';
import { after } from 'node:test';
import { build } from 'esbuild';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { createAppService, type AppService, type DesktopPorts } from '../../main/app/appService.ts';
import { testCoreLauncher } from '../helpers/appHarness.ts';
import { dispatch } from '../../main/app/dispatch.ts';
import { configureLogging } from '../../main/runner/logger.ts';
import type { RequestChannel, RequestInput, RequestOutput } from '../../preload/contract.ts';
import { FakeCore, type FakeCoreOptions } from '../helpers/fakeCore.ts';
import { CHROMIUM_ARGS } from './chromium.ts';

configureLogging({ quiet: true });

export const REPO = resolve(import.meta.dirname, '../..');
const SHOTS = join(REPO, 'test-artifacts', 'screenshots');
const DOC_SHOTS = join(REPO, 'docs', 'screenshots');

/** The OS shell, faked once: records what the app asked the OS to do. */
export interface TestPorts extends DesktopPorts {
  external: string[];
  openedPaths: string[];
  folder: string;
  loginItemOn: boolean;
}

export interface RendererFixture {
  core: FakeCore;
  service: AppService;
  ports: TestPorts;
  home: string;
  /** Where the built renderer is served (a web server that is not a Sibyl server). */
  url: string;
  page: Page;
  /** Uncaught errors and console errors of the page (CSP violations show up here). */
  pageErrors: string[];
  /** Every channel the page invoked, in order. */
  invoked: string[];
  /** A request straight to the app service, as the window would make it (for set-up, not for checks). */
  call<C extends RequestChannel>(channel: C, input: RequestInput<C>): Promise<RequestOutput<C>>;
  /** Sign in with a token and register, without the wizard; resolves with the runner id once connected. */
  registerDirectly(name?: string): Promise<string>;
  /** Save the page as test-artifacts/screenshots/<name>-light.png and -dark.png. */
  screenshot(name: string): Promise<void>;
}

/**
 * Undoes set-up in reverse order (browser, then app service, then servers, then folders), every
 * step even when an earlier one failed: a folder removed under a live Chromium, or a browser left
 * running after a failed step, would keep the test process from ending.
 */
class Teardown {
  private readonly steps: [string, () => unknown][] = [];
  add(what: string, fn: () => unknown): void {
    this.steps.push([what, fn]);
  }
  folder(prefix: string): string {
    const dir = mkdtempSync(join(tmpdir(), prefix));
    this.add(`remove ${dir}`, () => rmSync(dir, { recursive: true, force: true, maxRetries: 5 }));
    return dir;
  }
  async run(): Promise<void> {
    const failures: string[] = [];
    for (const [what, fn] of this.steps.splice(0).reverse()) {
      try {
        await fn();
      } catch (err) {
        failures.push(`${what}: ${err instanceof Error ? err.message : String(err)}`);
      }
    }
    if (failures.length) throw new Error(`teardown failed: ${failures.join('; ')}`);
  }
}

/** Built once per test process into its own folder, so parallel test files never share an output. */
let built: Promise<{ dir: string; shim: string }> | undefined;
function buildOnce(): Promise<{ dir: string; shim: string }> {
  built ??= (async () => {
    const processTeardown = new Teardown();
    after(() => processTeardown.run());
    const dir = processTeardown.folder('sibyl-renderer-');
    execFileSync(process.execPath, [join(REPO, 'scripts', 'build-renderer.mjs'), dir], { stdio: 'inherit' });
    const shim = await build({
      entryPoints: [join(import.meta.dirname, 'bridgeShim.ts')],
      bundle: true,
      format: 'iife',
      write: false,
      platform: 'browser',
      logLevel: 'warning',
    });
    return { dir, shim: shim.outputFiles[0]!.text };
  })();
  return built;
}

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.map': 'application/json',
  '.png': 'image/png',
};

/** A static server for the built renderer on 127.0.0.1, nothing else. */
async function serve(dir: string, teardown: Teardown): Promise<string> {
  const server: Server = createServer((req, res) => {
    const path = normalize(decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname)).replace(/^(\.\.[/\\])+/, '');
    const file = join(dir, path === '/' ? 'index.html' : path);
    try {
      const body = readFileSync(file);
      res.writeHead(200, { 'content-type': TYPES[extname(file)] ?? 'application/octet-stream', 'cache-control': 'no-store' });
      res.end(body);
    } catch {
      res.writeHead(404).end();
    }
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  teardown.add('static server', () => new Promise<void>((r) => server.close(() => r())));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
}

function testPorts(folder: string): TestPorts {
  const p: TestPorts = {
    external: [],
    openedPaths: [],
    folder,
    loginItemOn: false,
    openExternal: async (url) => void p.external.push(url),
    openPath: async (path) => void p.openedPaths.push(path),
    pickFolder: async () => p.folder,
    loginItem: { get: async () => p.loginItemOn, set: async (on) => void (p.loginItemOn = on) },
    // The real two-process path: the core is `sibyl-runner run` in a Node child, as in the app.
    coreLauncher: testCoreLauncher(),
  };
  return p;
}

/**
 * A real app service (temp profile) talking to a real fake Sibyl Core, and a real headless Chromium
 * showing the built renderer, whose `window.sibyl` reaches that service through Playwright bindings.
 * Everything is torn down after the test file.
 */
export async function openRenderer(executablePath: string, opts: { core?: FakeCoreOptions } = {}): Promise<RendererFixture> {
  const { dir, shim } = await buildOnce();
  const teardown = new Teardown();
  after(() => teardown.run());
  const url = await serve(dir, teardown);
  const core = await FakeCore.start({ heartbeatIntervalMs: 0, deviceIntervalS: 0.1, ...opts.core });
  teardown.add('fake Sibyl Core', () => core.stop());
  const home = teardown.folder('sibyl-home-');
  const ports = testPorts(join(home, 'picked-folder'));
  mkdirSync(ports.folder, { recursive: true });
  const service = await createAppService({
    home,
    configPath: join(home, '.config', 'sibyl-runner', 'runner.yaml'),
    env: { PATH: process.env.PATH, HOME: home },
    ports,
  });
  teardown.add('app service', () => service.close());

  const context: BrowserContext = await chromium.launchPersistentContext(teardown.folder('sibyl-chromium-'), {
    executablePath,
    args: CHROMIUM_ARGS,
    headless: true,
    viewport: { width: 1100, height: 780 },
    colorScheme: 'light',
    reducedMotion: 'reduce',
  });
  teardown.add('Chromium', () => context.close());
  const invoked: string[] = [];
  await context.exposeBinding('__sibylInvoke', (_source, channel: unknown, input: unknown) => {
    invoked.push(String(channel));
    return dispatch(service.handlers, channel, input);
  });
  await context.addInitScript({ content: shim });
  const page = context.pages()[0] ?? (await context.newPage());
  const pageErrors: string[] = [];
  page.on('pageerror', (err) => pageErrors.push(err.message));
  page.on('console', (msg) => msg.type() === 'error' && pageErrors.push(msg.text()));
  // Events cross as they would over IPC: serialised, in order, to the one window.
  service.onEvent((event, payload) => {
    page.evaluate(([name, body]) => window.__sibylEmit(name, body), [event, payload] as const).catch(() => undefined);
  });
  await page.goto(url);

  const call = async <C extends RequestChannel>(channel: C, input: RequestInput<C>): Promise<RequestOutput<C>> => {
    const r = await dispatch(service.handlers, channel, input);
    if (!r.ok) throw new Error(`${channel}: ${r.error.code}: ${r.error.message}`);
    return r.value as RequestOutput<C>;
  };

  return {
    core,
    service,
    ports,
    home,
    url,
    page,
    pageErrors,
    invoked,
    call,
    async registerDirectly(name = 'test-desk') {
      await call('wizard:useToken', { serverUrl: core.url, token: core.mintAccessToken() });
      const { runnerId } = await call('wizard:register', {
        serverUrl: core.url,
        name,
        maxAgents: 3,
        capabilities: ['git', 'node'],
        worktreeBase: join(home, 'worktrees'),
      });
      await core.until(() => core.connected(runnerId), 5000, 'the runner to connect');
      return runnerId;
    },
    async screenshot(name) {
      mkdirSync(SHOTS, { recursive: true });
      for (const scheme of ['light', 'dark'] as const) {
        await page.emulateMedia({ colorScheme: scheme });
        // From the top: a full-page capture of a scrolled page draws the sticky bar mid-page.
        await page.evaluate(() => window.scrollTo(0, 0));
        const file = join(SHOTS, `${name}-${scheme}.png`);
        await page.screenshot({ path: file, fullPage: true, animations: 'disabled', caret: 'hide' });
        // `SIBYL_UPDATE_SCREENSHOTS=1 npm test` refreshes the ones the docs show.
        if (process.env.SIBYL_UPDATE_SCREENSHOTS === '1') {
          mkdirSync(DOC_SHOTS, { recursive: true });
          copyFileSync(file, join(DOC_SHOTS, `${name}-${scheme}.png`));
        }
      }
      await page.emulateMedia({ colorScheme: 'light' });
    },
  };
}
