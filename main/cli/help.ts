export const HELP: Record<string, string> = {
  main: `sibyl-runner — run Sibyl Core's AI coding-agent tasks on this machine, each in its own git worktree.

Usage: sibyl-runner <command> [options]

Commands:
  register     Register this machine with a Sibyl server
  login        Sign in to a Sibyl server (device flow in your browser, or --token)
  run          Start the runner daemon (connects and executes tasks)
  status       Show the configuration and, while the daemon runs, its live state
  doctor       Check this machine's setup (git, folders, server, sign-in, agents) and say how to fix it
  projects     Link local repositories to Sibyl projects (link | unlink | list)
  history      List past tasks
  logs         Print (or follow) a task's log
  service      Run the runner as a service of this user (install | uninstall | start | stop | status)
  completion   Print a shell completion script (bash | zsh | fish)

Global options:
  -c, --config PATH   runner.yaml to use (default: $SIBYL_CONFIG_FILE, $SIBYL_CONFIG_DIR/runner.yaml,
                      ~/.config/sibyl/runner.yaml)
  -h, --help          Help for a command
  -v, -V, --version   Print the version

Exit codes: 0 ok, 1 runtime failure, 2 usage or configuration error.
Colour only on a terminal, and never with NO_COLOR set.

Run \`sibyl-runner help COMMAND\` (or \`sibyl-runner COMMAND --help\`) for a command's options and examples.`,
  register: `Usage: sibyl-runner register --server URL [options]

Registers this machine as a runner and writes runner_id into runner.yaml (other keys are kept).
A machine already registered there is refused, naming its runner, unless --replace.

Options:
  -s, --server URL         Sibyl server (site root, e.g. https://sibyl.example.com)
  -n, --name NAME          Runner name (default: this machine's hostname)
  -m, --max-agents N       Concurrent agents, 1–20 (default 3)
      --capability CAP     Extra capability label (repeatable); detected ones are added
      --token TOKEN        Access token to register with (else $SIBYL_ACCESS_TOKEN, else the stored
                           login, else the device flow when run in a terminal)
      --replace            Already registered: unregister that runner on the server first (it
                           must be stopped), then register anew
      --json               Print {"runner_id","graph_runner_id","config_path"}
  -c, --config PATH        runner.yaml to write

Examples:
  sibyl-runner register --server https://sibyl.example.com
  sibyl-runner register --server https://sibyl.example.com --name build-box --max-agents 2`,
  login: `Usage: sibyl-runner login --server URL [--token TOKEN]

Signs in with the device flow: shows a code and waits while you approve it in a browser; in a
terminal, Enter opens the browser there ($BROWSER, else the system's), and the code's remaining time
counts down. Ends by saying who signed in (and in which organization). With --token, stores the
given access token instead. Credentials are kept in credentials.json beside runner.yaml (mode 0600),
never in runner.yaml.

Options:
  -s, --server URL   Sibyl server (default: server_url from runner.yaml)
      --token TOKEN  Store this access token instead of signing in
  -c, --config PATH  runner.yaml whose credentials to write

Examples:
  sibyl-runner login --server https://sibyl.example.com
  sibyl-runner login --server https://sibyl.example.com --token "$SIBYL_ACCESS_TOKEN"`,
  run: `Usage: sibyl-runner run [options]

Starts the daemon: connects to the server, executes assigned tasks, reconnects forever (unless
max_reconnect_attempts > 0: it then gives up and exits 1). SIGINT/SIGTERM drain it: status "draining", running agents stopped and
reported, clean close, exit 0. Another run for the same runner.yaml is refused with exit 2.

It says what happens in lines on stdout: "online as NAME, waiting for tasks", each task's start and
end with its reason, "can't reach server, retrying in 4s (attempt 3): …". What needs you (signed
out, gave up reconnecting) and the log's warnings and errors go to stderr; the whole log, as JSON
lines, is in log_dir/runner.log.

Options:
  -c, --config PATH     runner.yaml
  -s, --server URL      Override server_url
  -n, --name NAME       Override name
  -m, --max-agents N    Override max_concurrent_agents (1–20)
  -a, --agent NAME      Agent for tasks without a command: claude-code, codex, gemini, aider,
                        opencode, command (default: agent in runner.yaml, SIBYL_AGENT, else the
                        first installed of claude-code, codex, gemini, aider)
      --runner-id ID    Override runner_id
      --sandbox-mode    Sandbox mode (plain per-task folders, sandbox headers)
      --metrics-listen HOST:PORT
                        Serve /metrics (Prometheus), /healthz and /readyz there (metrics_listen;
                        a non-loopback address needs metrics_allow_remote: true)
  -q, --quiet           No lines on stdout, no log on stderr: only what needs you
  -v, --verbose         Also the log on stderr, debug lines included

Examples:
  sibyl-runner run
  sibyl-runner run --agent codex --max-agents 2`,
  status: `Usage: sibyl-runner status [--json] [--config PATH]

Prints the runner's configuration and, while a daemon is running for this config, its live state:
the connection in words (connected, reconnecting, can't reach the server, signed out) and why,
whether tasks can arrive, running tasks with their short ids and elapsed time. Exit 1 when not
registered. A password in server_url (https://user:password@host) is shown as ***.

Options:
      --json         Print the state as JSON (below)
  -c, --config PATH  runner.yaml to read

JSON (--json), an interface for scripts: keys are camelCase, times ISO-8601 UTC, absent values null.
{"registered", "state", "label", "reason", "configPath", "credentials",
 "runner": {"id", "graphRunnerId", "name", "serverUrl", "maxAgents", "capabilities", "sandboxMode",
            "worktreeBase", "logDir"},
 "daemon": null while no daemon runs, else {"pid", "startedAt", "status", "paused", "outboxPending",
           "runner": {"id", "name", "serverUrl", "maxAgents", "sandboxMode"} (as the daemon runs),
           "link": {"state", "since", "reason", "remedy", "attempts", "nextRetryAt", "connectedAt",
                    "lastHeartbeatAt"},
           "running": [{"taskId", "agentId", "projectId", "prompt", "phase", "assignedAt",
                        "startedAt", "pid", "worktreePath", "branch", "agent", "activity", "logPath",
                        "steps": [{"id", "title", "tool", "state", "startedAt", "endedAt"}]}]}}
"state": unregistered, notRunning, connecting, connected, paused, reconnecting, unreachable,
signedOut, stopped, needsAttention. "daemon.status": online, busy or draining while connected,
else connecting, reconnecting, signedOut or stopped (the server does not see it online).

Examples:
  sibyl-runner status
  sibyl-runner status --json | jq -r .state`,
  projects: `Usage:
  sibyl-runner projects link PATH PROJECT_ID   link a local git checkout to a Sibyl project
  sibyl-runner projects unlink PROJECT_ID      remove a link made with \`projects link\`
  sibyl-runner projects list [--json]          linked projects: path, capabilities, remote, warm worktree

Links made with the Sibyl CLI (\`[paths]\` in ~/.sibyl/config.toml) are listed too; this command
only edits its own file (projects.yaml in the runner's config folder). unlink takes a unique start
of a project id.

Options:
      --json          list: print {"projects", "warnings"} as JSON
  -c, --config PATH   runner.yaml whose folder holds projects.yaml

Examples:
  sibyl-runner projects link ~/src/webapp project_1a2b3c4d
  sibyl-runner projects list`,
  history: `Usage: sibyl-runner history [--status S] [--search TEXT] [--limit N] [--full] [--json] [--raw] [--config PATH]

Lists past tasks, newest first, in at most 100 columns: the short id (the first 8 characters, as
the window and the sibyl/<id> branches show it; \`logs\` takes it), status, agent, when it started
("5m ago"), how long it took, its cost, why it did not complete, and the prompt.
Control characters in prompts (terminal escape sequences) are shown as visible symbols (ESC as ␛);
--raw prints them as stored.

Options:
      --status S     Only tasks with this status: assigned, running, completed, failed, timeout,
                     cancelled, rejected
      --search TEXT  Tasks whose id, agent id or prompt contains TEXT (case-insensitive)
      --limit N      At most N tasks, 1–200 (default 50)
      --full         Every column whole: ids, UTC times, project, branch, exit code, the reason
      --json         Print the tasks as JSON: every field, camelCase keys, times ISO-8601 UTC
      --raw          Print prompts exactly as stored
  -c, --config PATH  runner.yaml whose history to read

Examples:
  sibyl-runner history --status failed
  sibyl-runner history --search upload --full`,
  logs: `Usage: sibyl-runner logs TASK_ID [--follow] [--search TEXT] [--raw] [--config PATH]

Prints a task's full output (timestamp, stream, line). TASK_ID may be any unique start of the id,
such as the 8 characters \`history\`, the window and the sibyl/<id> branch show (sibyl/ may be kept);
when several tasks start that way, they are listed. --follow prints new lines as they come and
ends when the task ends: exit 0 when it completed, 1 when it failed, timed out or was cancelled.
While following, a line the agent is still writing (progress redrawn with \\r, no newline yet) is
shown marked [partial], at most once a second; the log stores each line once, when it ends.

Control characters the agent printed are shown as visible symbols (ESC as ␛, BEL as ␇, a carriage
return inside a line as ␍, C1 controls and bidi overrides as \\x9b / \\u202e), so output cannot
retitle, clear or write the clipboard of your terminal — also when piped, since a pipe often ends
on a terminal. Tabs and newlines are kept. --raw prints the lines exactly as stored.

Options:
  -f, --follow       Keep printing new lines until the task ends
      --search TEXT  Only lines containing TEXT (case-insensitive)
      --raw          Print the lines exactly as stored
  -c, --config PATH  runner.yaml whose task logs to read

Examples:
  sibyl-runner logs 1a2b3c4d
  sibyl-runner logs sibyl/1a2b3c4d --follow`,
  doctor: `Usage: sibyl-runner doctor [--json] [--config PATH]

Checks what the runner needs and says, for each problem, how to fix it: git (2.31 or newer, for
the worktree commands), the worktree, state and log folders (writable, free space: a warning under
2 GB, a failure under 100 MB), the state lock (free, or held by the running daemon), the server
(GET /api/health: reachable, its version), the clock against the server's Date header (a warning
over 2 minutes apart), the sign-in (GET /api/auth/me: valid, its organization, when it expires),
this runner's registration (GET /api/runners/ID), and each agent CLI (installed, its version, and
whether its provider key is in the environment the runner gives agents; values are never printed).

Each check is ok, warn, fail, or skip (not checked: it needs something that failed). Exit 1 when
any check fails, else 0; warnings do not fail. Checks run at the same time; each request and each
\`--version\` gets 5 s and each check 12 s, so doctor ends within about 12 s. Nothing is changed,
except that an expired stored sign-in is renewed as the daemon would (not while a daemon runs).

Doctor judges its own environment (PATH, agent keys, HOME): run it as the user and with the
environment the runner runs with; a service's environment may differ from your shell's.

Options:
      --json         Print the report as JSON: {"ok", "checkedAt", "durationMs", "configPath",
                     "checks": [{"id", "title", "status", "summary", "fix", "detail"}]}; keys are
                     camelCase, times ISO-8601 UTC, "fix" is null when nothing needs doing.
                     Check ids: config, git, worktreeFolder, stateFolder, logFolder, stateLock,
                     server, clock, token, registration, agents (the default agent), and
                     agent.<name> for claude-code, codex, gemini, aider, opencode.
  -c, --config PATH  runner.yaml to check

Colour only on a terminal, and not with NO_COLOR set.

Examples:
  sibyl-runner doctor
  sibyl-runner doctor --json | jq '.checks[] | select(.status == "fail")'`,
  service: `Usage:
  sibyl-runner service install [--config PATH] [--dry-run]   write the service, start it at login and now
  sibyl-runner service uninstall [--dry-run]                 stop the runner, then remove the service
  sibyl-runner service start|stop [--dry-run]                start or stop it now; it stays installed
  sibyl-runner service status [--config PATH]                installed? running? (exit 0 only when both)

Runs \`sibyl-runner run --config <absolute path>\` under this user's service manager, on the Node
this command runs on, with the PATH it has now (so agent CLIs and git are found):
  Linux     systemd user unit ~/.config/systemd/user/sibyl-runner.service
            logs: journalctl --user -u sibyl-runner -f
  macOS     LaunchAgent ~/Library/LaunchAgents/dev.sibyl.runner.plist
            logs: ~/Library/Logs/sibyl-runner/sibyl-runner.log
  Windows   Scheduled Task "Sibyl Runner", at logon; stop ends the runner at once (Windows has no
            SIGTERM), and its next start recovers the tasks it was running
The runner is started again after a failure, but not after exit 2 (a configuration error, or
another runner on the same configuration). Stop sends SIGTERM and waits drain_timeout + 10 s.
Installing again rewrites the unit and restarts the runner: do it after changing drain_timeout or
moving Node. One service per user: installing for another configuration replaces it.
The service sees none of this shell's SIBYL_* variables: it signs in with the stored login
(\`sibyl-runner login\`) or the token in runner.yaml. A systemd user manager runs only while you
are logged in, unless \`loginctl enable-linger $USER\` keeps it running.

Options:
  -c, --config PATH   runner.yaml the service runs (made absolute)
      --dry-run       Print the unit and the commands, change nothing

Examples:
  sibyl-runner service install --dry-run
  sibyl-runner service status`,
  completion: `Usage: sibyl-runner completion bash|zsh|fish

Prints a completion script for the shell. It is made from this help, so it knows every command,
sub-command and option of this version.
  bash   echo 'source <(sibyl-runner completion bash)' >> ~/.bashrc
  zsh    echo 'source <(sibyl-runner completion zsh)' >> ~/.zshrc   (after compinit)
  fish   sibyl-runner completion fish > ~/.config/fish/completions/sibyl-runner.fish

Options:
  -h, --help   Show this help

Examples:
  source <(sibyl-runner completion bash)`,
};
