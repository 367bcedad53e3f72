import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { CommandFailed, describeError } from '../src/errors.js';
import {
  MAX_RESPONSE_BYTES,
  commandEnvironment,
  runCommand,
  type CommandInvocation,
  type CommandOutcome,
} from '../src/command-handler.js';
import { installLogging, uninstallLogging } from '../src/logging.js';

const here = dirname(fileURLToPath(import.meta.url));
const commands = join(here, 'fixtures', 'commands');
const scratch = mkdtempSync(join(tmpdir(), 'command-handler-'));

function script(name: string): { path: string } {
  return { path: join(commands, name) };
}

function invocation(overrides: Partial<CommandInvocation> = {}): CommandInvocation {
  return {
    requestId: 'req-1',
    deadlineMs: Date.now() + 15_000,
    invokedFunctionArn: 'arn:aws:lambda:eu-west-1:123456789012:function:cmd',
    traceId: 'Root=1-abc-def;Sampled=1',
    body: Buffer.from('{"hello":"world"}'),
    ...overrides,
  };
}

function failure(outcome: CommandOutcome): CommandFailed {
  if (outcome.ok) throw new Error(`expected a failure, got stdout ${JSON.stringify(outcome.stdout.toString())}`);
  return outcome.error;
}

/** A process is gone when it no longer exists or is only a zombie waiting for its (other) parent. */
function gone(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).startsWith('Z');
  } catch {
    return true;
  }
}

async function eventually(check: () => boolean): Promise<boolean> {
  for (let i = 0; i < 100; i += 1) {
    if (check()) return true;
    await new Promise((r) => setTimeout(r, 20));
  }
  return check();
}

afterEach(() => {
  uninstallLogging();
});

afterAll(() => {
  rmSync(scratch, { recursive: true, force: true });
});

describe('runCommand', () => {
  it('passes the event on stdin and returns stdout as the response', async () => {
    const outcome = await runCommand(script('echo-stdin.sh'), invocation());
    expect(outcome).toEqual({ ok: true, stdout: Buffer.from('{"hello":"world"}') });
  });

  it('handles an empty event and binary bytes unchanged', async () => {
    expect(await runCommand(script('echo-stdin.sh'), invocation({ body: Buffer.alloc(0) }))).toEqual({
      ok: true,
      stdout: Buffer.alloc(0),
    });
    const bytes = Buffer.from([0, 255, 10, 13, 0xc3]);
    expect(await runCommand(script('echo-stdin.sh'), invocation({ body: bytes }))).toEqual({ ok: true, stdout: bytes });
  });

  it('reports a non-zero exit as CommandFailed with the file, the code and the stderr tail', async () => {
    const lines: string[] = [];
    const error = failure(await runCommand(script('fail.sh'), invocation(), { log: (l) => lines.push(l) }));
    expect(error).toBeInstanceOf(CommandFailed);
    expect(error).toMatchObject({ reason: 'exit', exitCode: 3, signal: null });
    expect(error.message).toContain(join(commands, 'fail.sh'));
    expect(error.message).toContain('exited with code 3');
    expect(error.message).toContain('first problem\nsecond problem');
    expect(lines).toEqual(['first problem', 'second problem']);
    expect(describeError(error).typeHeader).toBe('Function.CommandFailed');
  });

  it('reports death by signal', async () => {
    const error = failure(await runCommand(script('self-signal.sh'), invocation(), { log: () => {} }));
    expect(error).toMatchObject({ reason: 'signal', signal: 'SIGTERM', exitCode: null });
    expect(error.message).toContain('killed by signal SIGTERM');
    expect(error.stderrTail).toBe('about to die');
  });

  it('sets the per-invocation variables, extra variables, and removes a stale trace id', async () => {
    const parse = (outcome: CommandOutcome): Record<string, string> => {
      if (!outcome.ok) throw outcome.error;
      return Object.fromEntries(
        outcome.stdout
          .toString()
          .trim()
          .split('\n')
          .map((line) => line.split(/=(.*)/s).slice(0, 2) as [string, string]),
      );
    };
    const deadlineMs = Date.now() + 10_000;
    const env = parse(
      await runCommand(script('env.sh'), invocation({ deadlineMs }), {
        env: { PATH: process.env.PATH ?? '', BASE_SETTING: 'base', AWS_LAMBDA_REQUEST_ID: 'spoofed' },
        extraEnv: { EXTRA_SETTING: 'from config', AWS_LAMBDA_REQUEST_ID: 'also spoofed' },
        cwd: scratch,
      }),
    );
    expect(env).toEqual({
      request: 'req-1',
      deadline: String(deadlineMs),
      arn: 'arn:aws:lambda:eu-west-1:123456789012:function:cmd',
      trace: 'Root=1-abc-def;Sampled=1',
      extra: 'from config',
      base: 'base',
      cwd: scratch,
    });
    const untraced = parse(
      await runCommand(script('env.sh'), invocation({ traceId: undefined }), {
        env: { PATH: process.env.PATH ?? '', _X_AMZN_TRACE_ID: 'stale' },
      }),
    );
    expect(untraced.trace).toBe('<unset>');
  });

  it('returns large stdout intact below the cap', async () => {
    const bytes = 5 * 1024 * 1024;
    const outcome = await runCommand(script('large.sh'), invocation(), { env: { ...process.env, BYTES: String(bytes) } });
    expect(outcome.ok).toBe(true);
    if (outcome.ok) {
      expect(outcome.stdout.length).toBe(bytes);
      expect(outcome.stdout.every((b) => b === 0x61)).toBe(true);
    }
  });

  it('kills the command and fails clearly when stdout exceeds the cap (6 MiB by default)', async () => {
    const error = failure(
      await runCommand(script('large.sh'), invocation(), {
        env: { ...process.env, BYTES: String(MAX_RESPONSE_BYTES + 1) },
      }),
    );
    expect(error.reason).toBe('output-too-large');
    expect(error.message).toContain(`more than ${MAX_RESPONSE_BYTES} bytes`);

    const small = failure(
      await runCommand(script('large.sh'), invocation(), { env: { ...process.env, BYTES: '2000' }, maxResponseBytes: 1000 }),
    );
    expect(small.reason).toBe('output-too-large');
  });

  it('kills the whole process group when the deadline passes, reported as a timeout', async () => {
    const pidFile = join(scratch, 'sleep.pid');
    const error = failure(
      await runCommand(script('sleep.sh'), invocation({ deadlineMs: Date.now() + 300 }), {
        env: { ...process.env, PID_FILE: pidFile },
      }),
    );
    expect(error.reason).toBe('timeout');
    expect(error.message).toContain('invocation deadline');
    expect(existsSync(pidFile)).toBe(true);
    const grandchild = Number(readFileSync(pidFile, 'utf8').trim());
    expect(await eventually(() => gone(grandchild))).toBe(true);
  });

  it('fails at once when the deadline has already passed', async () => {
    const error = failure(await runCommand(script('echo-stdin.sh'), invocation({ deadlineMs: Date.now() - 1 })));
    expect(error.reason).toBe('timeout');
  });

  it('does not hang on background processes left holding the pipes, and ends them', async () => {
    const outcome = await runCommand(script('background.sh'), invocation());
    expect(outcome.ok).toBe(true);
    const pid = Number(outcome.ok ? outcome.stdout.toString().trim() : Number.NaN);
    expect(Number.isInteger(pid)).toBe(true);
    expect(await eventually(() => gone(pid))).toBe(true);
  });

  it('tolerates a command that never reads stdin (EPIPE)', async () => {
    const outcome = await runCommand(script('no-stdin.sh'), invocation({ body: Buffer.alloc(4 * 1024 * 1024, 0x7b) }));
    expect(outcome).toEqual({ ok: true, stdout: Buffer.from('ignored the event\n') });
  });

  it('logs stderr line by line and keeps only the last 4 KiB for the message', async () => {
    const lines: string[] = [];
    const error = failure(await runCommand(script('stderr-lines.sh'), invocation(), { log: (l) => lines.push(l) }));
    expect(lines[0]).toBe('line one');
    expect(lines[1]).toBe('line two');
    expect(lines).toHaveLength(203);
    expect(lines.at(-1)).toBe('last words without newline');
    expect(Buffer.byteLength(error.stderrTail)).toBeLessThanOrEqual(4096);
    expect(error.stderrTail.endsWith('last words without newline')).toBe(true);
    expect(error.stderrTail).not.toContain('line one');
  });

  it('forwards stderr to the runtime log tagged with the request id by default', async () => {
    const records: string[] = [];
    installLogging({}, { sink: (record) => records.push(record) });
    await runCommand(script('fail.sh'), invocation({ requestId: 'req-logged' }));
    expect(records).toHaveLength(2);
    expect(records[0]).toMatch(/^\S+\treq-logged\tINFO\tfirst problem$/);
  });

  it('reports a missing or non-executable file as a failure to start', async () => {
    const missing = failure(await runCommand({ path: join(commands, 'nope.sh') }, invocation()));
    expect(missing.reason).toBe('spawn');
    expect(missing.message).toContain('could not be started');
    const notExecutable = failure(await runCommand({ path: join(here, 'fixtures', 'loader', 'bin', 'not-exec.sh') }, invocation()));
    expect(notExecutable.reason).toBe('spawn');
  });

  it('names a variable holding a NUL byte and never quotes its value', async () => {
    // Node's own refusal (ERR_INVALID_ARG_VALUE) quotes the whole value.
    const outcome = failure(
      await runCommand(script('echo-stdin.sh'), invocation(), { extraEnv: { API_TOKEN: 'x\u0000nul-canary-51f2' } }),
    );
    expect(outcome.reason).toBe('spawn');
    expect(outcome.message).toContain('"API_TOKEN"');
    expect(outcome.message).not.toContain('nul-canary-51f2');
    expect(JSON.stringify(describeError(outcome))).not.toContain('nul-canary-51f2');
    expect(outcome.cause).toBeUndefined();
  });

  it('kills the command when aborted', async () => {
    const controller = new AbortController();
    const pending = runCommand(script('sleep.sh'), invocation(), {
      env: { ...process.env, PID_FILE: join(scratch, 'abort.pid') },
      signal: controller.signal,
    });
    setTimeout(() => controller.abort(), 100);
    expect(failure(await pending).reason).toBe('aborted');
  });
});

describe('commandEnvironment', () => {
  it('layers base, extra, then the invocation variables', () => {
    const env = commandEnvironment({ A: '1', _X_AMZN_TRACE_ID: 'old' }, invocation({ traceId: undefined }), { B: '2' });
    expect(env).toMatchObject({ A: '1', B: '2', AWS_LAMBDA_REQUEST_ID: 'req-1' });
    expect(env).not.toHaveProperty('_X_AMZN_TRACE_ID');
  });
});
