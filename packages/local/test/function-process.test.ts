import { mkdtempSync, readFileSync, realpathSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, afterEach, describe, expect, it, vi } from 'vitest';
import { runFunction, startFunction, type FunctionOptions, type LocalFunction } from '../src/function-process.js';
import { startRuntimeApi } from '../src/runtime-api-server.js';

const MINI_RUNTIME = fileURLToPath(new URL('./fixtures/mini-runtime.mjs', import.meta.url));
const taskRoot = realpathSync(mkdtempSync(join(tmpdir(), 'local-fn-')));

/** The fixture runtime under the current Node, with a task root of its own. */
const mini = (options: Partial<FunctionOptions> = {}): FunctionOptions => ({
  command: process.execPath,
  args: [MINI_RUNTIME],
  taskRoot,
  ...options,
});

const started: LocalFunction[] = [];

async function start(options: Partial<FunctionOptions> = {}): Promise<LocalFunction> {
  const fn = await startFunction(mini(options));
  started.push(fn);
  return fn;
}

afterEach(async () => {
  await Promise.all(started.splice(0).map((fn) => fn.stop()));
});

afterAll(() => rmSync(taskRoot, { recursive: true, force: true }));

/** Whether a process runs; a zombie waiting for a reaper counts as dead. */
function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  try {
    // Field 3 of /proc/PID/stat is the state; Z is a zombie.
    return readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.[0] !== 'Z';
  } catch {
    return process.platform !== 'linux';
  }
}

interface EnvReply {
  env: Record<string, string>;
  cwd: string;
  argv: string[];
}

describe('startFunction', () => {
  it('runs the process with the environment Lambda sets for a provided.al2023 image', async () => {
    const fn = await start({ handler: 'index.handler', functionName: 'orders', memoryMb: 512, region: 'eu-central-1' });
    const result = await fn.invoke({ action: 'env' });
    expect(result.status).toBe('success');
    const { env, cwd } = result.json<EnvReply>();

    expect(env).toMatchObject({
      AWS_LAMBDA_RUNTIME_API: fn.runtimeApi.address,
      _HANDLER: 'index.handler',
      LAMBDA_TASK_ROOT: taskRoot,
      LAMBDA_RUNTIME_DIR: taskRoot,
      AWS_LAMBDA_FUNCTION_NAME: 'orders',
      AWS_LAMBDA_FUNCTION_VERSION: '$LATEST',
      AWS_LAMBDA_FUNCTION_MEMORY_SIZE: '512',
      AWS_REGION: 'eu-central-1',
      AWS_DEFAULT_REGION: 'eu-central-1',
      AWS_LAMBDA_LOG_GROUP_NAME: '/aws/lambda/orders',
      AWS_LAMBDA_INITIALIZATION_TYPE: 'on-demand',
      TZ: ':UTC',
      LANG: 'en_US.UTF-8',
      PATH: process.env.PATH,
    });
    expect(env.AWS_LAMBDA_LOG_STREAM_NAME).toMatch(/^\d{4}\/\d{2}\/\d{2}\/\[\$LATEST\][0-9a-f]{32}$/);
    expect(env).not.toHaveProperty('AWS_EXECUTION_ENV');
    expect(cwd).toBe(taskRoot);
    expect(fn.env).toEqual(env);
    expect(fn.runtimeApi.functionArn).toBe('arn:aws:lambda:eu-central-1:123456789012:function:orders');
  });

  it("keeps the parent's environment out unless asked, and never passes AWS_EXECUTION_ENV", async () => {
    process.env.LOCAL_FN_PARENT_ONLY = 'leak';
    process.env.AWS_EXECUTION_ENV = 'AWS_Lambda_nodejs22.x';
    try {
      const isolated = await start();
      const isolatedEnv = (await isolated.invoke({ action: 'env' })).json<EnvReply>().env;
      expect(isolatedEnv).not.toHaveProperty('LOCAL_FN_PARENT_ONLY');
      const expected = [
        'AWS_DEFAULT_REGION',
        'AWS_LAMBDA_FUNCTION_MEMORY_SIZE',
        'AWS_LAMBDA_FUNCTION_NAME',
        'AWS_LAMBDA_FUNCTION_VERSION',
        'AWS_LAMBDA_INITIALIZATION_TYPE',
        'AWS_LAMBDA_LOG_GROUP_NAME',
        'AWS_LAMBDA_LOG_STREAM_NAME',
        'AWS_LAMBDA_RUNTIME_API',
        'AWS_REGION',
        'LAMBDA_RUNTIME_DIR',
        'LAMBDA_TASK_ROOT',
        'LANG',
        'PATH',
        'TZ',
        ...(process.env.HOME === undefined ? [] : ['HOME']),
      ];
      expect(Object.keys(isolatedEnv).sort()).toEqual(expected.sort());

      const inheriting = await start({ inheritEnv: true });
      const inheritedEnv = (await inheriting.invoke({ action: 'env' })).json<EnvReply>().env;
      expect(inheritedEnv.LOCAL_FN_PARENT_ONLY).toBe('leak');
      expect(inheritedEnv).not.toHaveProperty('AWS_EXECUTION_ENV');
    } finally {
      delete process.env.LOCAL_FN_PARENT_ONLY;
      delete process.env.AWS_EXECUTION_ENV;
    }
  });

  it('lets options.env win, and remove variables with undefined', async () => {
    const fn = await start({ env: { TZ: 'Europe/Paris', AWS_REGION: 'ap-south-1', LANG: undefined, EXTRA: '1' } });
    const { env } = (await fn.invoke({ action: 'env' })).json<EnvReply>();
    expect(env.TZ).toBe('Europe/Paris');
    expect(env.AWS_REGION).toBe('ap-south-1');
    expect(env.EXTRA).toBe('1');
    expect(env).not.toHaveProperty('LANG');
    expect(env).not.toHaveProperty('_HANDLER');
  });

  it('runs a bootstrap executable directly, with LAMBDA_RUNTIME_DIR at its directory', async () => {
    const fn = await startFunction({ bootstrap: MINI_RUNTIME, args: ['extra-arg'], taskRoot });
    started.push(fn);
    const { env, argv } = (await fn.invoke({ action: 'env' })).json<EnvReply>();
    expect(env.LAMBDA_RUNTIME_DIR).toBe(dirname(MINI_RUNTIME));
    expect(argv).toEqual(['extra-arg']);
  });

  it('echoes the output live when asked', async () => {
    const written: string[] = [];
    const spy = vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
      written.push(String(chunk));
      return true;
    });
    try {
      const fn = await start({ echo: true });
      await fn.waitForLog(/ready/);
      expect(written.join('')).toContain('mini-runtime ready');
    } finally {
      spy.mockRestore();
    }
  });

  it('captures output and waits for log lines', async () => {
    const fn = await start();
    await expect(fn.waitForLog(/mini-runtime ready/)).resolves.toBe('mini-runtime ready');
    await fn.invoke({ action: 'log', text: 'hello from the handler' });
    await fn.waitForLog((logs) => logs.includes('stderr: hello from the handler'));
    expect(fn.logs()).toContain('hello from the handler\n');
    expect(fn.stdout()).toContain('hello from the handler');
    expect(fn.stdout()).not.toContain('stderr: hello');
    expect(fn.stderr()).toContain('stderr: hello from the handler');
    await expect(fn.waitForLog(/never printed/, 50)).rejects.toThrow(/50 ms passed.*\n.*mini-runtime started/s);
  });

  it('reports function errors from the runtime', async () => {
    const fn = await start();
    const result = await fn.invoke({ action: 'fail', message: 'nope' });
    expect(result.status).toBe('error');
    expect(result.errorType).toBe('Function.MiniError');
    expect(result.error?.errorMessage).toBe('nope');
  });

  it('applies the function timeout', async () => {
    const fn = await start({ timeoutMs: 100 });
    const result = await fn.invoke({ action: 'hang' });
    expect(result.status).toBe('timeout');
    expect(result.error?.errorMessage).toMatch(/Task timed out after 0\.10 seconds/);
  });

  it('ends the invocation as Runtime.ExitError when the process exits during it', async () => {
    const fn = await start();
    const result = await fn.invoke({ action: 'exit', code: 3 });
    expect(result.status).toBe('error');
    expect(result.errorType).toBe('Runtime.ExitError');
    expect(result.error?.errorMessage).toBe(
      `RequestId: ${result.requestId} Error: Runtime exited with error: exit status 3`,
    );
    expect(await fn.exited).toEqual({ code: 3, signal: null });
    expect(fn.hasExited).toBe(true);
    await expect(fn.invoke({})).rejects.toThrow(/has exited/);
    await expect(fn.waitForLog(/never/)).rejects.toThrow(/exited/);
  });

  it('resolves invocations with the init error the runtime posted', async () => {
    const fn = await start({ env: { MINI_INIT_ERROR: 'Runtime.ImportModuleError' } });
    const initError = await fn.runtimeApi.waitForInitError();
    expect(initError.errorType).toBe('Runtime.ImportModuleError');
    expect(initError.error?.errorMessage).toBe('init failed on purpose');
    const result = await fn.runtimeApi.invoke({});
    expect(result.status).toBe('init-error');
    expect(result.errorType).toBe('Runtime.ImportModuleError');
    expect((await fn.exited).code).toBe(1);
  });

  it('reports a bootstrap that cannot be started', async () => {
    await expect(startFunction({ bootstrap: join(taskRoot, 'missing-bootstrap') })).rejects.toThrow(/ENOENT/);
  });
});

describe('stop()', () => {
  it('SIGKILLs at once when no extension registered, and closes its own server', async () => {
    const fn = await start({ env: { MINI_ON_SIGTERM: 'exit' } });
    await fn.waitForLog(/ready/);
    await fn.stop();
    expect(await fn.exited).toEqual({ code: null, signal: 'SIGKILL' });
    expect(fn.logs()).not.toContain('SIGTERM received');
    await expect(fn.runtimeApi.invoke({})).rejects.toThrow(/closed/);
  });

  it('sends SHUTDOWN and SIGTERM when an extension registered, and lets the runtime exit', async () => {
    const fn = await start({ env: { MINI_EXTENSION: 'SHUTDOWN', MINI_ON_SIGTERM: 'exit' } });
    await fn.waitForLog(/ready/);
    expect(fn.runtimeApi.extensions.map((e) => e.name)).toEqual(['mini-extension']);
    await fn.stop();
    expect(await fn.exited).toEqual({ code: 0, signal: null });
    expect(fn.logs()).toContain('SIGTERM received');
    expect(fn.logs()).toMatch(/extension event \{"eventType":"SHUTDOWN","shutdownReason":"spindown","deadlineMs":\d+\}/);
  });

  it('SIGKILLs a runtime that ignores SIGTERM once the grace period is over', async () => {
    const fn = await start({ env: { MINI_EXTENSION: '', MINI_ON_SIGTERM: 'ignore' }, shutdownGraceMs: 100 });
    await fn.waitForLog(/ready/);
    await fn.stop();
    expect(await fn.exited).toEqual({ code: null, signal: 'SIGKILL' });
    expect(fn.logs()).toContain('SIGTERM received');
    // Subscribed to nothing, so no SHUTDOWN event for this extension.
    expect(fn.logs()).not.toContain('extension event');
  });

  it('kills what the runtime started along with it', async () => {
    const fn = await start();
    const { pid } = (await fn.invoke({ action: 'spawn' })).json<{ pid: number }>();
    expect(isAlive(pid)).toBe(true);
    await fn.stop();
    await expect.poll(() => isAlive(pid)).toBe(false);
  });

  it('leaves a server it was given open', async () => {
    const server = await startRuntimeApi();
    try {
      const fn = await start({ runtimeApi: server });
      expect(fn.env.AWS_LAMBDA_RUNTIME_API).toBe(server.address);
      expect((await fn.invoke({ n: 1 })).json()).toMatchObject({ event: { n: 1 } });
      await fn.stop();
      expect(fn.hasExited).toBe(true);
      const reply = await fetch(`${server.url}/still-listening`);
      expect(reply.status).toBe(404);
    } finally {
      await server.close();
    }
  });
});

describe('runFunction', () => {
  it('stops the function after the callback, also when it throws', async () => {
    let seen: LocalFunction | undefined;
    const value = await runFunction(mini(), async (fn) => {
      seen = fn;
      return (await fn.invoke({ x: 1 })).json();
    });
    expect(value).toMatchObject({ event: { x: 1 } });
    expect(seen?.hasExited).toBe(true);

    await expect(
      runFunction(mini(), async (fn) => {
        seen = fn;
        throw new Error('callback failed');
      }),
    ).rejects.toThrow('callback failed');
    expect(seen?.hasExited).toBe(true);
  });
});
