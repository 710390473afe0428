import type { AgentPreset } from './preset.ts';

/**
 * Agent CLIs driven through argv templates with plain-text progress: each output line is the
 * activity. The prompt goes on stdin (Gemini CLI, opencode) or as a file (Aider's
 * --message-file), never in argv.
 */
export const gemini: AgentPreset = {
  name: 'gemini',
  binary: 'gemini',
  label: 'Gemini CLI',
  install: 'npm install -g @google/gemini-cli',
  launch(ctx) {
    const s = ctx.settings;
    const argv = [ctx.executable];
    if (s.unsafe_skip_permissions) argv.push('--yolo');
    else argv.push('--approval-mode', s.permission_mode ?? (ctx.readOnly ? 'default' : 'auto_edit'));
    if (s.model) argv.push('--model', s.model);
    argv.push(...(s.args ?? []));
    return { argv, stdin: `${ctx.context}\n\n${ctx.prompt}`, env: { ...(s.env ?? {}) }, interruptSignal: 'SIGINT', model: s.model };
  },
  parser: () => undefined,
};

export const aider: AgentPreset = {
  name: 'aider',
  binary: 'aider',
  label: 'Aider',
  install: 'python -m pip install aider-install && aider-install',
  launch(ctx) {
    const s = ctx.settings;
    // The runner commits (with the task trailer); Aider's own commits would bypass that.
    const argv = [ctx.executable, '--message-file', ctx.promptFile, '--yes-always', '--no-auto-commits', '--no-pretty', '--no-stream'];
    if (ctx.readOnly) argv.push('--dry-run');
    if (s.model) argv.push('--model', s.model);
    argv.push(...(s.args ?? []));
    return { argv, stdin: undefined, env: { ...(s.env ?? {}) }, interruptSignal: 'SIGINT', model: s.model };
  },
  parser: () => undefined,
};

export const opencode: AgentPreset = {
  name: 'opencode',
  binary: 'opencode',
  label: 'opencode',
  install: 'npm install -g opencode-ai',
  launch(ctx) {
    const s = ctx.settings;
    const argv = [ctx.executable, 'run'];
    if (s.model) argv.push('--model', s.model);
    argv.push(...(s.args ?? []));
    return { argv, stdin: `${ctx.context}\n\n${ctx.prompt}`, env: { ...(s.env ?? {}) }, interruptSignal: 'SIGINT', model: s.model };
  },
  parser: () => undefined,
};
