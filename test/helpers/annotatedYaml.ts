/**
 * Hand-edited runner.yaml and projects.yaml as people write them — a header, comments above keys,
 * inline comments after wide spacing, a block list with comments on and between its items, an
 * anchor and its alias, a folded scalar, keys this version does not know — and a line diff, so a
 * test can say exactly which lines an edit may change.
 */
export const ANNOTATED_RUNNER_YAML = `# Sibyl Runner on the build box; ask Dana before changing the server.

# the site root, not …/api
server_url: https://old.example.com   # moved in March
name: build-box                # shows in the dashboard
defaults: &three 3             # shared by the keys below
max_concurrent_agents: *three
capabilities:
  - docker     # we have docker
  # the GPU box only
  - gpu
exec_command: >-
  claude -p "fix the failing test"
  --verbose
reconnect_interval: 1.0        # seconds

# read by our deploy script, not by the runner
deploy_slot: blue              # blue/green
`;

export const ANNOTATED_PROJECTS_YAML = `# Project links of this box; edited by hand as well.
version: 1
owner: platform-team      # not read by the runner
links:
  # the main app
  - project_id: project_aaaaaaaaaaaa
    path: /srv/app        # the big one
`;

export const crlf = (text: string): string => text.replace(/\n/g, '\r\n');

/** The lines only in `before` and the lines only in `after` (longest common subsequence), in order. */
export function lineDiff(before: string, after: string): { removed: string[]; added: string[] } {
  const a = before.split('\n');
  const b = after.split('\n');
  const lcs = Array.from({ length: a.length + 1 }, () => new Array<number>(b.length + 1).fill(0));
  for (let i = a.length - 1; i >= 0; i--)
    for (let j = b.length - 1; j >= 0; j--)
      lcs[i]![j] = a[i] === b[j] ? lcs[i + 1]![j + 1]! + 1 : Math.max(lcs[i + 1]![j]!, lcs[i]![j + 1]!);
  const removed: string[] = [];
  const added: string[] = [];
  let i = 0;
  let j = 0;
  while (i < a.length || j < b.length) {
    if (i < a.length && j < b.length && a[i] === b[j]) {
      i++;
      j++;
    } else if (j < b.length && (i === a.length || lcs[i]![j + 1]! >= lcs[i + 1]![j]!)) added.push(b[j++]!);
    else removed.push(a[i++]!);
  }
  return { removed, added };
}
