import { hostname } from 'node:os';
import type { Handlers } from '../../../preload/contract.ts';
import { agentCapabilities } from '../../runner/agents/detectAgents.ts';
import { detectedCapabilities } from '../../runner/projects/capabilities.ts';
import { logger } from '../../runner/logger.ts';
import type { AppContext } from '../appContext.ts';
import { checkServer, type DeviceLogin, registerRunner, useToken, type WizardServerOptions } from '../wizard.ts';

const log = logger('wizard');

type WizardChannels =
  'wizard:checkServer' | 'wizard:startDeviceLogin' | 'wizard:cancelDeviceLogin' | 'wizard:useToken' | 'wizard:detect' | 'wizard:register';

/** The setup wizard's steps: server check, sign-in (device flow or token), detection, registration. */
export function wizardHandlers(app: AppContext, device: DeviceLogin): Pick<Handlers, WizardChannels> {
  // runner.yaml's allow_insecure_http, read at each call: plain http:// to another machine is refused without it.
  const server = (): WizardServerOptions => ({ allowInsecureHttp: app.loaded.config.allow_insecure_http });
  return {
    'wizard:checkServer': async ({ url }) => checkServer(url, server()),
    'wizard:startDeviceLogin': async ({ serverUrl }) => device.start(serverUrl, server()),
    'wizard:cancelDeviceLogin': async () => {
      device.cancel();
      return { ok: true as const };
    },
    'wizard:useToken': async ({ serverUrl, token }) => {
      const r = await useToken(app.credentials, serverUrl, token, server());
      await app.refreshSignedIn();
      app.pushState();
      return r;
    },
    'wizard:detect': async () => {
      const c = app.loaded.config;
      return {
        hostname: c.name || hostname(),
        capabilities: await detectedCapabilities({ links: app.links, agents: () => agentCapabilities(c.agents, app.opts.env) }),
        worktreeBase: c.worktree_base,
        maxAgents: c.max_concurrent_agents,
      };
    },
    'wizard:register': async (input) => {
      app.requireOwnConfig('register it');
      // What runner.yaml will say is checked before the server creates a runner record.
      app.checkFilePatch({ name: input.name, max_concurrent_agents: input.maxAgents, worktree_base: input.worktreeBase });
      const c = app.loaded.config;
      // Registering a registered machine replaces its runner (the CLI's `register --replace`), never adds one.
      const previous = c.runner_id ? { runnerId: c.runner_id, serverUrl: c.server_url } : undefined;
      let stopped = false;
      let forgotten = false;
      let reg: Awaited<ReturnType<typeof registerRunner>>;
      try {
        reg = await registerRunner(app.credentials, input, {
          ...server(),
          ...(previous
            ? {
                replacing: {
                  previous,
                  stop: async () => {
                    stopped = true;
                    await app.host.stop();
                  },
                  forget: () => {
                    forgotten = true;
                    app.loaded.file.update({ runner_id: '', graph_runner_id: '' });
                    app.reload();
                  },
                },
              }
            : {}),
        });
      } catch (err) {
        // The old runner was stopped to be deleted and is still registered: it goes on as before.
        if (stopped && !forgotten)
          await app.restart().catch((restartErr: unknown) => log.error('could not restart the old runner', { error: restartErr }));
        // It was deleted but no new one was made: the state says "not registered", and the window goes back to setup.
        else if (forgotten) app.pushState();
        throw err;
      }
      await app.host.stop();
      app.loaded.file.update({
        server_url: reg.serverUrl,
        runner_id: reg.id,
        graph_runner_id: reg.graphRunnerId,
        name: input.name,
        max_concurrent_agents: input.maxAgents,
        capabilities: input.capabilities,
        worktree_base: input.worktreeBase,
      });
      await app.restart();
      return { runnerId: reg.id, ...(reg.replaced ? { replaced: reg.replaced } : {}) };
    },
  };
}
