import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { defaultBootstrapPath } from '../src/bootstrap-path.js';
import { runCli } from '../src/cli.js';
import type { InvokeReport } from '../src/commands/invoke.js';
import { handlerFromDockerfile } from '../src/dockerfile.js';
import { captureIo, type CapturedIo as Captured } from './capture-io.js';

const TASK_ROOT = fileURLToPath(new URL('./fixtures/task', import.meta.url));
/** The Runtime API fixture of @custom-runtime/local: it answers by each event's `action`. */
const MINI_RUNTIME = fileURLToPath(new URL('../../local/test/fixtures/mini-runtime.mjs', import.meta.url));
const emptyRoot = mkdtempSync(join(tmpdir(), 'cli-invoke-'));

afterAll(() => rmSync(emptyRoot, { recursive: true, force: true }));

const capture = (stdin?: string): Captured => captureIo({ readStdin: async () => stdin, cwd: TASK_ROOT });

async function invoke(argv: readonly string[], stdin?: string): Promise<Captured & { status: number }> {
  const captured = capture(stdin);
  const status = await runCli(['invoke', ...argv], captured.io);
  return { ...captured, status };
}

describe('invoke with the real bootstrap (packages/runtime/dist/bootstrap)', () => {
  it('runs the Dockerfile CMD handler and prints the response as pretty JSON, the logs and the duration', async () => {
    const run = await invoke([TASK_ROOT, '--payload', '{"name":"Ada"}', '--env', 'MODE=test']);
    expect(run.stderr()).toContain('Handler: app.handler (CMD of');
    expect(run.status, run.stderr()).toBe(0);
    const response = JSON.parse(run.stdout()) as { greeting: string; mode: string; requestId: string };
    expect(response).toMatchObject({ greeting: 'hello Ada', mode: 'test' });
    expect(run.stdout()).toContain('{\n  "greeting": "hello Ada",');
    expect(run.stderr()).toContain('handling Ada');
    expect(run.stderr()).toMatch(/Duration: \d+\.\d\d ms/);
  });

  it('prints a function error with its type and message and exits 1', async () => {
    const run = await invoke(['--payload', '{"fail":"Bob"}']);
    expect(run.status).toBe(1);
    expect(run.stdout()).toBe('');
    expect(run.stderr()).toContain('Function error: Function.TypeError: cannot greet Bob');
  });

  it('prints a string response as the JSON string it is', async () => {
    const run = await invoke(['--handler', 'app.text']);
    expect(run.status, run.stderr()).toBe(0);
    expect(run.stdout()).toBe('"plain text, not JSON"\n');
  });

  it('prints a response that is not JSON as it is (a command handler)', async () => {
    const run = await invoke(['--handler', 'hello.sh', '--json']);
    expect(run.status, run.stdout()).toBe(0);
    expect(JSON.parse(run.stdout())).toMatchObject({ responseFormat: 'text', response: expect.stringContaining('plain text from a script') });
    const plain = await invoke(['--handler', 'hello.sh']);
    expect(plain.stdout()).toMatch(/^plain text from a script\n/);
  });

  it('finds the bootstrap inside the runtime package', () => {
    expect(defaultBootstrapPath()).toMatch(/packages\/runtime\/dist\/bootstrap$/);
  });
});

describe('invoke plumbing (with a stand-in bootstrap)', () => {
  const withMini = ['--bootstrap', MINI_RUNTIME];

  it('passes the handler, task root and --env to the function, and never prints --env values', async () => {
    const run = await invoke([...withMini, '--payload', '{"action":"env"}', '--env', 'MODE=hidden-value-123', '--env', 'EMPTY=']);
    expect(run.status, run.stderr()).toBe(0);
    const { env, cwd } = JSON.parse(run.stdout()) as { env: Record<string, string>; cwd: string };
    expect(env).toMatchObject({ _HANDLER: 'app.handler', LAMBDA_TASK_ROOT: TASK_ROOT, MODE: 'hidden-value-123', EMPTY: '' });
    expect(cwd).toBe(TASK_ROOT);
    expect(run.stderr()).not.toContain('hidden-value-123');
  });

  it('defaults the handler to index.handler without a Dockerfile, and --handler wins over both', async () => {
    const plain = await invoke([emptyRoot, ...withMini, '--payload', '{"action":"env"}']);
    expect(JSON.parse(plain.stdout()).env._HANDLER).toBe('index.handler');
    expect(plain.stderr()).toContain('Handler: index.handler (default)');
    const given = await invoke([...withMini, '--handler', 'other.fn', '--payload', '{"action":"env"}']);
    expect(JSON.parse(given.stdout()).env._HANDLER).toBe('other.fn');
  });

  it('reads the event from --event-file, from piped stdin, or uses {}', async () => {
    const file = join(emptyRoot, 'event.json');
    writeFileSync(file, '{"from":"file"}');
    const fromFile = await invoke([...withMini, '--event-file', file]);
    expect(JSON.parse(fromFile.stdout()).event).toEqual({ from: 'file' });
    const fromStdin = await invoke([...withMini], '{"from":"stdin"}');
    expect(JSON.parse(fromStdin.stdout()).event).toEqual({ from: 'stdin' });
    const none = await invoke([...withMini]);
    expect(JSON.parse(none.stdout()).event).toEqual({});
  });

  it('shows the function logs on stderr and keeps stdout for the response', async () => {
    const run = await invoke([...withMini, '--payload', '{"action":"log","text":"hello logs"}']);
    expect(run.stdout()).toBe('{\n  "logged": true\n}\n');
    expect(run.stderr()).toMatch(/--- logs ---\n[\s\S]*hello logs[\s\S]*--- end of logs ---/);
  });

  it('exits 1 on a function error and on a timeout', async () => {
    const failed = await invoke([...withMini, '--payload', '{"action":"fail","message":"boom"}']);
    expect(failed.status).toBe(1);
    expect(failed.stderr()).toContain('Function error: Function.MiniError: boom');
    const slow = await invoke([...withMini, '--payload', '{"action":"hang"}', '--timeout', '200']);
    expect(slow.status).toBe(1);
    expect(slow.stderr()).toContain('Timed out: Sandbox.Timedout');
  });

  it('--json prints one document with the outcome', async () => {
    const ok = await invoke([...withMini, '--payload', '{"action":"log","text":"x"}', '--json']);
    const report = JSON.parse(ok.stdout()) as InvokeReport;
    expect(report).toMatchObject({ status: 'success', handler: 'app.handler', response: { logged: true } });
    expect(report.logs).toContain('stderr: x');
    expect(report.durationMs).toBeGreaterThanOrEqual(0);
    const failed = await invoke([...withMini, '--payload', '{"action":"fail","message":"bad"}', '--json']);
    expect(failed.status).toBe(1);
    expect(JSON.parse(failed.stdout())).toMatchObject({ status: 'error', errorType: 'Function.MiniError', errorMessage: 'bad' });
  });

  it('rejects bad input with exit status 2 and clear messages', async () => {
    const cases: Array<[string[], RegExp, string?]> = [
      [['--payload', '{not json secret-ish'], /the event from --payload is not valid JSON at line 1, column 2$/m],
      [['--payload', '{}', '--event-file', 'x.json'], /give one of --event, --event-file and --payload, not --event-file and --payload/],
      // SAM's -e takes a file: inline JSON there is the likely mistake, and the value is not echoed.
      [['-e', '{"secret-ish":1}'], /cannot read the event file \(the --event value\): ENOENT: --event takes a file, as in sam local invoke; give inline JSON with --payload JSON/],
      [['--event-file', 'missing.json'], /cannot read the event file .*missing\.json: ENOENT/],
      [['--timeout', '0'], /--timeout must be a whole number of milliseconds above 0/],
      [['--env', 'NOEQUALS'], /--env #1 is not KEY=VALUE/],
      [[join(emptyRoot, 'nope')], /task root .*nope is not a directory/],
      [['a', 'b'], /one TASK_ROOT at most/],
      [['--nope'], /Unknown option '--nope'/],
      [[], /the event from standard input is not valid JSON/, 'garbage'],
    ];
    for (const [argv, message, stdin] of cases) {
      const run = await invoke([...withMini, ...argv], stdin);
      expect(run.status, argv.join(' ')).toBe(2);
      expect(run.stderr()).toMatch(message);
      expect(run.stderr()).not.toContain('secret-ish');
    }
  });

  it('explains a missing bootstrap', async () => {
    const run = await invoke(['--bootstrap', join(emptyRoot, 'no-bootstrap')]);
    expect(run.status).toBe(1);
    expect(run.stderr()).toMatch(/^custom-runtime invoke: no executable bootstrap at .*no-bootstrap: install @custom-runtime\/runtime next to @custom-runtime\/cli, or pass --bootstrap PATH\n$/);
  });
});

describe('handlerFromDockerfile', () => {
  it('reads the last CMD in exec or shell form', () => {
    expect(handlerFromDockerfile('FROM x\nCMD ["first.handler"]\nCMD [ "app.handler" ]\n')).toBe('app.handler');
    expect(handlerFromDockerfile('FROM x\ncmd handler.sh --flag\n')).toBe('handler.sh');
    expect(handlerFromDockerfile('FROM x\nCMD [ \\\n  "lib/api.handler" \\\n]\n')).toBe('lib/api.handler');
    expect(handlerFromDockerfile('FROM x\n# CMD ["commented.out"]\nRUN echo\n')).toBeUndefined();
    expect(handlerFromDockerfile('FROM x\nCMD [broken\n')).toBeUndefined();
    expect(handlerFromDockerfile('FROM x\nCMD []\n')).toBeUndefined();
  });
});

describe('invoke --snap-start', () => {
  const runtimeApi = new URL('../../runtime/lib/index.js', import.meta.url).href;
  const root = mkdtempSync(join(tmpdir(), 'cli-snapstart-'));
  afterAll(() => rmSync(root, { recursive: true, force: true }));
  writeFileSync(
    join(root, 'app.mjs'),
    `import { onAfterRestore, onBeforeSnapshot } from ${JSON.stringify(runtimeApi)};
onBeforeSnapshot(() => console.log('hook: before snapshot'));
onAfterRestore(() => console.log('hook: after restore'));
export const handler = async () => ({ init: process.env.AWS_LAMBDA_INITIALIZATION_TYPE });
if (process.env.FAIL_RESTORE) onAfterRestore(() => { throw new Error('no connection'); });
`,
  );

  it('runs the function through snapshot and restore before invoking it', async () => {
    const run = await invoke([root, '--handler', 'app.handler', '--snap-start']);
    expect(run.status, run.stderr()).toBe(0);
    expect(JSON.parse(run.stdout())).toEqual({ init: 'snap-start' });
    expect(run.stderr()).toMatch(/hook: before snapshot[\s\S]*hook: after restore/);
  });

  it('reports a failing after-restore hook as Runtime.AfterRestoreError', async () => {
    const run = await invoke([root, '--handler', 'app.handler', '--snap-start', '--env', 'FAIL_RESTORE=1']);
    expect(run.status).toBe(1);
    expect(run.stderr()).toContain('Function error: Runtime.AfterRestoreError: no connection');
  });

  it('without the flag, no hook runs', async () => {
    const run = await invoke([root, '--handler', 'app.handler']);
    expect(run.status, run.stderr()).toBe(0);
    expect(JSON.parse(run.stdout())).toEqual({ init: 'on-demand' });
    expect(run.stderr()).not.toContain('hook:');
  });
});
