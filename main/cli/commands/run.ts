import { SibylApi } from '../../runner/api/sibylApi.ts';
import { authSourceFor } from '../../runner/auth/authSource.ts';
import { Daemon } from '../../runner/daemon.ts';
import { ConfigError } from '../../runner/errors.ts';
import { background, configureLogging, logger } from '../../runner/logger.ts';
import { syncRegistration } from '../../runner/registrationSync.ts';
import { intOption, parse, println, type Io } from '../args.ts';
import { commandContext } from '../context.ts';
import { HELP } from '../help.ts';
import { wireCoreServices } from '../../runner/services.ts';

export async function runCommand(argv: string[], io: Io): Promise<number> {
  const { values } = parse('run', argv, {
    config: { type: 'string', short: 'c' },
    server: { type: 'string', short: 's' },
    name: { type: 'string', short: 'n' },
    'max-agents': { type: 'string', short: 'm' },
    'runner-id': { type: 'string' },
    'sandbox-mode': { type: 'boolean' },
    'no-sandbox-mode': { type: 'boolean' },
    foreground: { type: 'boolean', short: 'f' },
    quiet: { type: 'boolean', short: 'q' },
    verbose: { type: 'boolean' },
  });
  if (values.help) return (println(io.stdout, HELP.run), 0);
  const maxAgents = intOption('run', 'max-agents', values['max-agents'], 1, 20);
  const ctx = commandContext(
    {
      ...(values.config !== undefined ? { config: values.config } : {}),
      ...(values.server !== undefined ? { server: values.server } : {}),
      ...(values.name !== undefined ? { name: values.name } : {}),
      ...(maxAgents !== undefined ? { maxAgents } : {}),
      ...(values['runner-id'] !== undefined ? { runnerId: values['runner-id'] } : {}),
      ...(values['sandbox-mode'] ? { sandboxMode: true } : values['no-sandbox-mode'] ? { sandboxMode: false } : {}),
    },
    io,
  );
  const { config } = ctx;
  if (!config.server_url)
    throw new ConfigError(`no server configured in ${ctx.path}; run \`sibyl-runner register --server URL\` or pass --server`);
  if (!config.runner_id)
    throw new ConfigError(`no runner_id in ${ctx.path}; run \`sibyl-runner register --server ${config.server_url}\` first`);
  configureLogging({
    logDir: config.log_dir,
    ...(values.quiet ? { quiet: true } : {}),
    ...(values.verbose ? { stderrLevel: 'debug' as const } : {}),
  });
  const log = logger('cli');
  const api = new SibylApi(config.server_url);
  const auth = authSourceFor(config, ctx.credentials, api);
  const services = await wireCoreServices(config, { home: ctx.home, configPath: ctx.path, log });
  const daemon = new Daemon({
    config,
    configPath: ctx.path,
    auth,
    env: io.env,
    ...services.daemonOptions,
  });
  await daemon.start();
  await services.started(daemon);
  background(log, 'registration sync', syncRegistration(api, auth, config, log));
  await new Promise<void>((resolve) => {
    const onSignal = (sig: NodeJS.Signals): void => {
      log.info('signal received; draining', { signal: sig });
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
      // A second signal while draining stops at once.
      const force = (): void => process.exit(1);
      process.once('SIGINT', force);
      process.once('SIGTERM', force);
      void daemon
        .stop()
        .then(() => services.close())
        .finally(resolve);
    };
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
  });
  return 0;
}
