import { AGENT_NAMES, AgentName } from '../../runner/agents/agentSettings.ts';
import { UsageError } from '../../runner/errors.ts';
import { configureLogging, logger } from '../../runner/logger.ts';
import type { Daemon } from '../../runner/daemon.ts';
import { startRunner } from '../../runner/startRunner.ts';
import { remedyHint } from '../remedies.ts';
import { intOption, parse, println, type Io } from '../args.ts';
import { commandContext } from '../context.ts';
import { HELP } from '../help.ts';

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
    agent: { type: 'string', short: 'a' },
  });
  if (values.help) return (println(io.stdout, HELP.run), 0);
  const maxAgents = intOption('run', 'max-agents', values['max-agents'], 1, 20);
  const agent = values.agent === undefined ? undefined : AgentName.safeParse(values.agent);
  if (agent && !agent.success)
    throw new UsageError(`--agent must be one of ${AGENT_NAMES.join(', ')} (got ${JSON.stringify(values.agent)})`);
  const ctx = commandContext(
    {
      ...(values.config !== undefined ? { config: values.config } : {}),
      ...(values.server !== undefined ? { server: values.server } : {}),
      ...(values.name !== undefined ? { name: values.name } : {}),
      ...(maxAgents !== undefined ? { maxAgents } : {}),
      ...(values['runner-id'] !== undefined ? { runnerId: values['runner-id'] } : {}),
      ...(values['sandbox-mode'] ? { sandboxMode: true } : values['no-sandbox-mode'] ? { sandboxMode: false } : {}),
      ...(agent?.success ? { agent: agent.data } : {}),
    },
    io,
  );
  const { config } = ctx;
  configureLogging({
    logDir: config.log_dir,
    ...(values.quiet ? { quiet: true } : {}),
    ...(values.verbose ? { stderrLevel: 'debug' as const } : {}),
  });
  const log = logger('cli');
  // A headless user sees only the terminal: a link that needs them (signed out, gave up) is said there, once per change.
  const watched: { daemon?: Daemon } = {};
  let told = '';
  const onChange = (): void => {
    const link = watched.daemon?.link.status;
    // `stopped` with a remedy is giving up; without one it is our own drain.
    const needsUser = link && link.reason && (link.state === 'auth_failed' || (link.state === 'stopped' && link.remedy));
    if (!link || !needsUser) return void (told = '');
    const line = `${link.reason}${link.remedy ? ` — ${remedyHint(link.remedy, { serverUrl: config.server_url, configPath: ctx.path })}` : ''}`;
    if (line !== told) println(io.stderr, `sibyl-runner run: ${line}`);
    told = line;
  };
  const runner = await startRunner(config, {
    configPath: ctx.path,
    home: ctx.home,
    credentials: ctx.credentials,
    env: io.env,
    log,
    onChange,
  });
  watched.daemon = runner.daemon;
  onChange();
  await new Promise<void>((resolve) => {
    const onSignal = (sig: NodeJS.Signals): void => {
      log.info('signal received; draining', { signal: sig });
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
      // A second signal while draining stops at once.
      const force = (): void => process.exit(1);
      process.once('SIGINT', force);
      process.once('SIGTERM', force);
      void runner.stop().finally(resolve);
    };
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
  });
  return 0;
}
