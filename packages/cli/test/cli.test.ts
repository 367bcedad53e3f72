import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { startLambdaControlPlane } from '@custom-runtime/local';
import { describe, expect, it } from 'vitest';
import { groupUsage, runCli, usage } from '../src/cli.js';
import { captureIo as capture } from './capture-io.js';

const MAIN = fileURLToPath(new URL('../dist/main.js', import.meta.url));

interface Exit {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs the built executable with `node`, as the package's bin shim does. */
function runMain(args: readonly string[], options: { env?: Record<string, string>; stdin?: string } = {}): Promise<Exit> {
  if (!existsSync(MAIN)) throw new Error(`${MAIN} is missing: run \`pnpm --filter @custom-runtime/cli build\` first`);
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [MAIN, ...args], { env: { PATH: process.env.PATH ?? '', ...options.env } });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (text: string) => (stdout += text));
    child.stderr.setEncoding('utf8').on('data', (text: string) => (stderr += text));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
    child.stdin.end(options.stdin ?? '');
  });
}

describe('dispatch', () => {
  it('prints the overview for --help, help and -h, and on stderr with exit 2 when no command is given', async () => {
    for (const argv of [['--help'], ['help'], ['-h']]) {
      const out = capture();
      expect(await runCli(argv, out.io)).toBe(0);
      expect(out.stdout()).toBe(usage());
    }
    const none = capture();
    expect(await runCli([], none.io)).toBe(2);
    expect(none.stderr()).toBe(usage());
    expect(usage()).toMatch(/invoke \[TASK_ROOT\]\s+run a function once/);
    expect(usage()).toMatch(/env set FUNCTION KEY=VALUE\.\.\.\s+change some/);
  });

  it("prints a command's help for `<command> --help` and `help <command>`", async () => {
    for (const argv of [['env', 'set', '--help'], ['help', 'env', 'set']]) {
      const out = capture();
      expect(await runCli(argv, out.io)).toBe(0);
      expect(out.stdout()).toMatch(/^Usage: custom-runtime env set FUNCTION/);
    }
    // A group has a help of its own (`custom-runtime env --help` was an unknown command).
    for (const argv of [['env', '--help'], ['env', '-h'], ['help', 'env']]) {
      const out = capture();
      expect(await runCli(argv, out.io), argv.join(' ')).toBe(0);
      expect(out.stdout()).toMatch(/^Usage: custom-runtime env <command> \[options\]\n\nCommands:\n {2}env set FUNCTION KEY=VALUE\.\.\. {2}change some/);
    }
    for (const command of ['init', 'build', 'check', 'invoke', 'env set']) {
      const out = capture();
      expect(await runCli([...command.split(' '), '--help'], out.io), command).toBe(0);
      expect(out.stdout()).toMatch(new RegExp(`^Usage: custom-runtime ${command}`));
    }
    const invokeHelp = capture();
    expect(await runCli(['invoke', '-h'], invokeHelp.io)).toBe(0);
    expect(invokeHelp.stdout()).toMatch(/^Usage: custom-runtime invoke \[TASK_ROOT\]/);
  });

  it('rejects an unknown command with exit status 2', async () => {
    for (const [argv, name] of [
      [['deploy'], 'deploy'],
      [['env', 'get'], 'env get'],
    ] as const) {
      const out = capture();
      expect(await runCli(argv, out.io)).toBe(2);
      expect(out.stderr()).toContain(`custom-runtime: unknown command '${name}'`);
    }
    // A group alone is a usage error that lists its commands.
    const group = capture();
    expect(await runCli(['env'], group.io)).toBe(2);
    expect(group.stderr()).toBe(groupUsage('env'));
  });

  it('prefixes each message once with the command, also for option errors', async () => {
    for (const command of ['invoke', 'check', 'build', 'init', 'env set']) {
      const out = capture();
      expect(await runCli([...command.split(' '), '--nope'], out.io), command).toBe(2);
      expect(out.stderr()).toBe(`custom-runtime ${command}: Unknown option '--nope'. To specify a positional argument starting with a '-', place it at the end of the command after '--', as in '-- "--nope" (see \`custom-runtime ${command} --help\`)\n`);
    }
    const missing = capture();
    expect(await runCli(['env', 'set'], missing.io)).toBe(2);
    expect(missing.stderr()).toBe('custom-runtime env set: FUNCTION is missing (see `custom-runtime env set --help`)\n');
  });

  it('prints the version from package.json', async () => {
    const out = capture();
    expect(await runCli(['--version'], out.io)).toBe(0);
    expect(out.stdout()).toMatch(/^\d+\.\d+\.\d+\n$/);
  });
});

describe('the built executable (dist/main.js)', () => {
  it('prints the help and exits 0', async () => {
    const help = await runMain(['--help']);
    expect(help).toMatchObject({ code: 0, stderr: '' });
    expect(help.stdout).toBe(usage());
    const envHelp = await runMain(['env', 'set', '--help']);
    expect(envHelp.code).toBe(0);
    expect(envHelp.stdout).toContain('KEY=@-             standard input');
    expect((await runMain([])).code).toBe(2);
  });

  it('runs env set with a value piped on stdin, against endpoints from the environment', async () => {
    const lambda = await startLambdaControlPlane();
    try {
      lambda.createFunction('orders', { environment: { KEPT: 'k1' } });
      const env = {
        AWS_ENDPOINT_URL_LAMBDA: lambda.url,
        AWS_REGION: lambda.region,
        AWS_ACCESS_KEY_ID: 'test',
        AWS_SECRET_ACCESS_KEY: 'test',
        // The SDK warns on Node 20 that its 2027 releases will need Node 22; not this test's concern.
        AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
      };
      const noYes = await runMain(['env', 'set', 'orders', 'TOKEN=@-'], { env, stdin: 'piped-secret\n' });
      expect(noYes.code).toBe(2);
      expect(noYes.stderr).toContain('no terminal to confirm on');

      const run = await runMain(['env', 'set', 'orders', 'TOKEN=@-', '--yes'], { env, stdin: 'piped-secret\n' });
      expect(run.stderr).toBe('');
      expect(run.code).toBe(0);
      expect(run.stdout).toContain('+ TOKEN\n= 1 unchanged\n');
      expect(run.stdout + run.stderr).not.toContain('piped-secret');
      expect(lambda.getFunction('orders')?.environment).toEqual({ KEPT: 'k1', TOKEN: 'piped-secret' });
    } finally {
      await lambda.close();
    }
  });
});
