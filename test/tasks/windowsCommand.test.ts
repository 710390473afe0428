import assert from 'node:assert/strict';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { test } from 'node:test';
import { AgentProcess } from '../../main/runner/tasks/agentProcess.ts';
import { shellArgv } from '../../main/runner/tasks/taskSpec.ts';
import { batchCommandLine, quoteBatchArgument, spawnPlan } from '../../main/runner/tasks/windowsCommand.ts';
import { tempDir } from '../helpers/tmp.ts';

// Arguments that would run something, or arrive changed, if cmd.exe read them as its own syntax:
// each tries to create pwned*.txt in the task folder.
const HOSTILE = [
  'a"&echo PWNED>pwned1.txt&"b',
  'say "hi" & bye | more',
  '%PATH%',
  '%OS:W=&echo PWNED>pwned2.txt&%',
  '%PATH:~0,3%',
  '100% sure',
  '%%',
  '!OS!',
  '^',
  '^^"^',
  'a|b<c>d',
  '(echo PWNED>pwned3.txt)',
  'a b  c',
  '',
  '\\"',
  'C:\\trailing dir\\',
  'C:\\trailing\\',
  '\\\\server\\share',
  'back\\\\"slash',
  'Bash(git:*)',
  'approval_policy="never"',
  'ünïcödé ✓ 模型',
  'tab\there',
];

test('each argument for a batch file is quoted for cmd.exe and the C runtime (the BatBadBut scheme)', () => {
  const cases: [string, string][] = [
    ['plain', 'plain'],
    ['--output-format', '--output-format'],
    ['C:\\Users\\me\\x.txt', 'C:\\Users\\me\\x.txt'],
    ['ünïcödé', '"ünïcödé"'],
    ['', '""'],
    ['a b', '"a b"'],
    ['a&b', '"a&b"'],
    ['Bash(git:*)', '"Bash(git:*)"'],
    ['say "hi"', '"say ""hi"""'],
    ['a"&calc&"b', '"a""&calc&""b"'],
    ['%PATH%', '"%%cd:~,%PATH%%cd:~,%"'],
    ['100%', '"100%%cd:~,%"'],
    ['!OS!', '"!OS!"'],
    ['^', '"^"'],
    // Backslashes count only before a quote (the argument's or the closing one): doubled there.
    ['C:\\dir\\', '"C:\\dir\\\\"'],
    ['\\"', '"\\\\"""'],
    ['a\\b c', '"a\\b c"'],
    // cmd.exe ends its command at a line break: there is no way to pass one, so it is a space.
    ['line one\nline two\r\nthree\rfour', '"line one line two three four"'],
    ['tab\there', '"tab\there"'],
    ['\u0085', '"\u0085"'],
  ];
  for (const [arg, quoted] of cases) assert.equal(quoteBatchArgument(arg), quoted, JSON.stringify(arg));
  assert.throws(() => quoteBatchArgument('a\0b'), RangeError);
});

test('a batch file runs through System32\\cmd.exe with AutoRun and delayed expansion off, its line verbatim', () => {
  const script = "C:\\Users\\O'Brien & Co\\AppData\\Roaming\\npm\\claude.cmd";
  const plan = spawnPlan([script, '-p', '--append-system-prompt', 'Work here.\nBranch a&b'], 'win32', 'C:\\Windows');
  assert.deepEqual(plan, {
    file: 'C:\\Windows\\System32\\cmd.exe',
    args: ['/d', '/e:on', '/v:off', '/s', '/c', `""${script}" -p --append-system-prompt "Work here. Branch a&b""`],
    windowsVerbatimArguments: true,
  });
  for (const name of ['x.CMD', 'x.bat', 'x.Bat'])
    assert.equal(spawnPlan([name], 'win32', 'C:\\Windows').file, 'C:\\Windows\\System32\\cmd.exe');
  assert.equal(batchCommandLine('C:\\100%\\x.cmd', []), '"C:\\100%%cd:~,%\\x.cmd"');
  assert.throws(() => batchCommandLine('C:\\a"b.cmd', []), RangeError);
});

test('everything else is spawned as given: executables on Windows, any file elsewhere, shellArgv verbatim', () => {
  assert.deepEqual(spawnPlan(['C:\\x\\claude.exe', 'a&b'], 'win32', 'C:\\Windows'), {
    file: 'C:\\x\\claude.exe',
    args: ['a&b'],
    windowsVerbatimArguments: false,
  });
  assert.deepEqual(spawnPlan(['/usr/bin/claude.cmd', 'a&b'], 'linux'), {
    file: '/usr/bin/claude.cmd',
    args: ['a&b'],
    windowsVerbatimArguments: false,
  });
  assert.deepEqual(spawnPlan(['/bin/x', 'y'], 'darwin'), { file: '/bin/x', args: ['y'], windowsVerbatimArguments: false });
  const [file = '', ...args] = shellArgv('echo "hi" & exit 3', 'win32');
  assert.deepEqual(spawnPlan(shellArgv('echo "hi" & exit 3', 'win32'), 'win32'), { file, args, windowsVerbatimArguments: true });
});

// What npm's cmd-shim writes for a package's bin (claude.cmd, codex.cmd, gemini.cmd in %APPDATA%\npm):
// the `%*` on its last line is read by cmd.exe a second time, after the command line that started it.
const NPM_SHIM = [
  '@ECHO off',
  'GOTO start',
  ':find_dp0',
  'SET dp0=%~dp0',
  'EXIT /b',
  ':start',
  'SETLOCAL',
  'CALL :find_dp0',
  '',
  'IF EXIST "%dp0%\\node.exe" (',
  '  SET "_prog=%dp0%\\node.exe"',
  ') ELSE (',
  '  SET "_prog=node"',
  '  SET PATHEXT=%PATHEXT:;.JS;=;%',
  ')',
  '',
  'endLocal & goto #_undefined_# 2>NUL || title %COMSPEC% & "%_prog%"  "%dp0%\\node_modules\\echo-args\\cli.js" %*',
  '',
].join('\r\n');

test(
  'Windows: an npm .cmd shim gets every hostile argument exactly as given, and nothing runs',
  { skip: process.platform !== 'win32' && 'needs cmd.exe: runs on the Windows CI job (windows-latest)' },
  async () => {
    // A folder name cmd.exe must not read either: a space, an apostrophe, an ampersand.
    const bin = join(tempDir(), "npm bin's & co");
    mkdirSync(join(bin, 'node_modules', 'echo-args'), { recursive: true });
    writeFileSync(
      join(bin, 'node_modules', 'echo-args', 'cli.js'),
      'process.stdout.write(JSON.stringify(process.argv.slice(2)) + "\\n");\n',
    );
    const shim = join(bin, 'echo-args.cmd');
    writeFileSync(shim, NPM_SHIM);
    const cwd = tempDir();
    const env: Record<string, string> = {};
    for (const [k, v] of Object.entries(process.env)) if (v !== undefined) env[k] = v;
    // The shim finds `node` on PATH, as it does for a user without node.exe beside it.
    const pathKey = Object.keys(env).find((k) => k.toUpperCase() === 'PATH') ?? 'PATH';
    env[pathKey] = `${dirname(process.execPath)};${env[pathKey] ?? ''}`;
    const lines: string[] = [];
    const p = new AgentProcess({ argv: [shim, ...HOSTILE], cwd, env, timeoutMs: 60_000, onLine: (s, l) => lines.push(`${s}: ${l}`) });
    const exit = await p.exited;
    assert.equal(exit.exitCode, 0, lines.join('\n'));
    const expected = HOSTILE.map((a) => a.replace(/\r\n|\r|\n/g, ' '));
    assert.deepEqual(JSON.parse(exit.stdout) as unknown, expected);
    for (const n of [1, 2, 3]) assert.equal(existsSync(join(cwd, `pwned${n}.txt`)), false, `pwned${n}.txt was created`);
  },
);
