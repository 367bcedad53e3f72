/**
 * The built bootstrap (dist/bootstrap), run as a subprocess against the local Runtime API
 * stand-in with the environment Lambda sets: what the Dockerfiles ship is what is tested.
 */
import { createHash } from 'node:crypto';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it, onTestFinished } from 'vitest';
import { describeOnEachNode, makeTaskRoot, startBootstrap, startTcpRelay } from '@custom-runtime/test-support';
import { startRuntimeApi } from '@custom-runtime/local';

const E2E_FIXTURES = fileURLToPath(new URL('./fixtures/e2e/', import.meta.url));

const faults = `
export const throwsTypeError = async () => { null.x; };
class ValidationError extends Error {}
export const throwsCustom = async () => { throw new ValidationError('field "age" must be positive'); };
export const rejectsString = () => Promise.reject('just a string');
export const circular = async () => { const a = {}; a.self = a; return a; };
export const bigint = async () => ({ n: 10n });
export const ok = async (event) => ({ ok: true, event });
`;

describeOnEachNode('module handlers', (node) => {
  it('runs on the Node it was started with', async () => {
    const root = await makeTaskRoot({ 'app.mjs': 'export const handler = async () => process.version;' });
    const fn = await startBootstrap({ node, taskRoot: root, handler: 'app.handler' });
    const version = (await fn.invoke({})).json<string>();
    if (node === 'node22') expect(version).toMatch(/^v22\./);
    else expect(version).toMatch(/^v\d+\./);
  });

  it('answers from an ESM module, a CommonJS module and a nested .js path', async () => {
    const root = await makeTaskRoot({
      'esm.mjs': 'export const handler = async (event) => ({ kind: "esm", event });',
      'cjs.cjs': 'exports.handler = async (event) => ({ kind: "cjs", event });',
      'lib/deep/app.js': 'module.exports = { api: { get: async () => ({ kind: "nested" }) } };',
    });
    for (const [handler, kind] of [
      ['esm.handler', 'esm'],
      ['cjs.handler', 'cjs'],
      ['lib/deep/app.api.get', 'nested'],
    ] as const) {
      const fn = await startBootstrap({ node, taskRoot: root, handler });
      const result = await fn.invoke({ n: 1 });
      expect(result.status, fn.logs()).toBe('success');
      expect(result.json()).toMatchObject({ kind });
    }
  });

  it('builds the context from the /next headers and the environment', async () => {
    const root = await makeTaskRoot({
      'app.mjs': `export const handler = async (event, c) => ({
        requestId: c.awsRequestId, arn: c.invokedFunctionArn, name: c.functionName,
        version: c.functionVersion, memory: c.memoryLimitInMB, group: c.logGroupName,
        stream: c.logStreamName, clientContext: c.clientContext, identity: c.identity,
        tenantId: c.tenantId, trace: c.xRayTraceId ?? null, remaining: c.getRemainingTimeInMillis(),
        traceEnv: process.env._X_AMZN_TRACE_ID ?? null });`,
    });
    const fn = await startBootstrap({ node, taskRoot: root, handler: 'app.handler', functionName: 'ctx-fn', memoryMb: 512 });
    const result = await fn.invoke(
      {},
      {
        requestId: 'req-1',
        invokedFunctionArn: 'arn:aws:lambda:us-east-1:123456789012:function:ctx-fn:live',
        clientContext: { custom: { app: 'mobile' } },
        cognitoIdentity: { cognitoIdentityId: 'id-1', cognitoIdentityPoolId: 'pool-1' },
        tenantId: 'tenant-7',
        traceId: 'Root=1-5e1b4151-5ac6c58f1b2a3c4d5e6f7a8b;Parent=1;Sampled=1',
        timeoutMs: 60_000,
      },
    );
    const body = result.json<Record<string, unknown>>();
    expect(body).toMatchObject({
      requestId: 'req-1',
      arn: 'arn:aws:lambda:us-east-1:123456789012:function:ctx-fn:live',
      name: 'ctx-fn',
      version: '$LATEST',
      memory: '512',
      group: '/aws/lambda/ctx-fn',
      clientContext: { custom: { app: 'mobile' } },
      identity: { cognitoIdentityId: 'id-1', cognitoIdentityPoolId: 'pool-1' },
      tenantId: 'tenant-7',
      trace: 'Root=1-5e1b4151-5ac6c58f1b2a3c4d5e6f7a8b;Parent=1;Sampled=1',
      traceEnv: 'Root=1-5e1b4151-5ac6c58f1b2a3c4d5e6f7a8b;Parent=1;Sampled=1',
    });
    expect(body.stream).toEqual(expect.any(String));
    expect(body.remaining).toBeGreaterThan(50_000);
    expect(body.remaining).toBeLessThanOrEqual(60_000);

    // The trace variable belongs to one invocation: absent header, absent variable.
    const untraced = await fn.invoke({});
    expect(untraced.json()).toMatchObject({ traceEnv: null, trace: null });
  });

  it('reports a malformed client-context header as that invocation error and goes on', async () => {
    const root = await makeTaskRoot({ 'app.mjs': 'export const handler = async () => "fine";' });
    const fn = await startBootstrap({ node, taskRoot: root, handler: 'app.handler' });
    const bad = await fn.invoke({}, { clientContext: '{not json' });
    expect(bad.status).toBe('error');
    expect(bad.errorType).toBe('Runtime.InvalidContextHeader');
    expect(bad.error?.errorMessage).toContain('Lambda-Runtime-Client-Context');
    expect((await fn.invoke({})).json()).toBe('fine');
  });

  it('echoes Lambda-Runtime-Invocation-Id on the response and the error when it was sent', async () => {
    const root = await makeTaskRoot({ 'app.mjs': faults });
    const fn = await startBootstrap({ node, taskRoot: root, handler: 'app.ok' });
    await fn.invoke({}, { invocationId: 'inv-42' });
    await fn.invoke({});
    const posts = fn.runtimeApi.requests.filter((r) => r.method === 'POST' && r.path.endsWith('/response'));
    expect(posts[0]?.headers['lambda-runtime-invocation-id']).toBe('inv-42');
    expect(posts[1]?.headers['lambda-runtime-invocation-id']).toBeUndefined();

    const failing = await startBootstrap({ node, taskRoot: root, handler: 'app.throwsTypeError' });
    await failing.invoke({}, { invocationId: 'inv-43' });
    const errorPost = failing.runtimeApi.requests.find((r) => r.path.endsWith('/error'));
    expect(errorPost?.headers['lambda-runtime-invocation-id']).toBe('inv-43');
  });

  it('reports every handler fault as an invocation error and keeps serving', async () => {
    const root = await makeTaskRoot({ 'app.mjs': faults });
    const cases = [
      ['throwsTypeError', 'Function.TypeError', 'TypeError'],
      ['throwsCustom', 'Function.ValidationError', 'ValidationError'],
      ['rejectsString', 'Function.NonErrorThrown', 'NonErrorThrown'],
      ['circular', 'Runtime.ResponseSerializationError', 'Runtime.ResponseSerializationError'],
      ['bigint', 'Runtime.ResponseSerializationError', 'Runtime.ResponseSerializationError'],
    ] as const;
    for (const [handler, header, bodyType] of cases) {
      const fn = await startBootstrap({ node, taskRoot: root, handler: `app.${handler}` });
      for (let round = 0; round < 2; round++) {
        const result = await fn.invoke({});
        expect(result.status, `${handler}: ${fn.logs()}`).toBe('error');
        expect(result.errorType).toBe(header);
        expect(result.error?.errorType).toBe(bodyType);
        expect(Array.isArray(result.error?.stackTrace)).toBe(true);
      }
      expect(fn.hasExited).toBe(false);
    }
    const fn = await startBootstrap({ node, taskRoot: root, handler: 'app.throwsCustom' });
    const result = await fn.invoke({});
    expect(result.error?.errorMessage).toBe('field "age" must be positive');
    // The log pipe may trail the response post: wait for the line rather than read at once.
    await fn.waitForLog(/Invoke Error/);
  });

  it('serves the next event after a fault, in the same process', async () => {
    const root = await makeTaskRoot({
      'app.mjs': `let n = 0; export const handler = async () => { n += 1; if (n % 2) throw new Error('odd ' + n); return n; };`,
    });
    const fn = await startBootstrap({ node, taskRoot: root, handler: 'app.handler' });
    const results = [];
    for (let i = 0; i < 6; i++) results.push(await fn.invoke({}));
    expect(results.map((r) => r.status)).toEqual(['error', 'success', 'error', 'success', 'error', 'success']);
    expect(results[5]?.json()).toBe(6);
  });

  it('delivers a 5 MiB response intact', async () => {
    const root = await makeTaskRoot({
      'app.mjs': `import { randomBytes } from 'node:crypto';
        const blob = randomBytes(5 * 1024 * 1024 * 3 / 4).toString('base64');
        export const handler = async () => blob;`,
    });
    const fn = await startBootstrap({ node, taskRoot: root, handler: 'app.handler' });
    const result = await fn.invoke({});
    const text = result.json<string>();
    expect(text.length).toBe(5 * 1024 * 1024);
    // The same bytes twice: the body is the module's constant, not a partial read.
    const again = (await fn.invoke({})).json<string>();
    const digest = (s: string): string => createHash('sha256').update(s).digest('hex');
    expect(digest(again)).toBe(digest(text));
  });

  it('logs a response the Runtime API rejects as too large (413) and goes on', async () => {
    const root = await makeTaskRoot({
      'app.mjs': `export const handler = async (e) => e.big ? 'x'.repeat(7 * 1024 * 1024) : 'small';`,
    });
    const fn = await startBootstrap({ node, taskRoot: root, handler: 'app.handler' });
    const big = await fn.invoke({ big: true });
    expect(big.status).toBe('error');
    expect(big.errorType).toBe('Function.ResponseSizeTooLarge');
    await fn.waitForLog(/413/);
    expect((await fn.invoke({ big: false })).json()).toBe('small');
    expect(fn.logs()).not.toContain('xxxxxxxx');
  });

  it('completes 2,000 sequential invocations', async () => {
    const root = await makeTaskRoot({ 'app.mjs': 'export const handler = async (e) => e.i;' });
    const fn = await startBootstrap({ node, taskRoot: root, handler: 'app.handler' });
    for (let i = 0; i < 2000; i++) {
      const result = await fn.invoke({ i });
      if (result.status !== 'success' || result.json() !== i) throw new Error(`invocation ${i}: ${result.text()}`);
    }
    expect(fn.runtimeApi.requests.filter((r) => r.path.endsWith('/response'))).toHaveLength(2000);
  }, 60_000);
});

describe('the Runtime API connection', () => {
  // With calls sent ahead it is opened early, and never before a SnapStart snapshot:
  // init-requests.bootstrap.test.ts (config package).
  it('is opened by the first /next when no calls were sent ahead (the first socket costs what an early one saves)', async () => {
    // A handler module still loading: it logs, then waits before it exports its handler.
    const root = await makeTaskRoot({
      'app.mjs': "console.log('module loading'); await new Promise((r) => setTimeout(r, 300)); export const handler = async () => 'served';",
    });
    const runtimeApi = await startRuntimeApi();
    onTestFinished(() => runtimeApi.close());
    const relay = await startTcpRelay(runtimeApi.address);
    onTestFinished(() => relay.close());
    const fn = await startBootstrap({ taskRoot: root, handler: 'app.handler', runtimeApi, env: { AWS_LAMBDA_RUNTIME_API: relay.address } });
    await fn.waitForLog(/module loading/);
    await new Promise((r) => setTimeout(r, 50));
    expect(relay.connections()).toBe(0);
    expect((await fn.invoke({})).json()).toBe('served');
    expect(relay.connections()).toBe(1);
  });
});

describe('the Runtime API going away', () => {
  it('exits non-zero within a second when /next answers 500', async () => {
    const root = await makeTaskRoot({ 'app.mjs': 'export const handler = async () => 1;' });
    const fn = await startBootstrap({ taskRoot: root, handler: 'app.handler' });
    await fn.invoke({});
    await fn.runtimeApi.waitForPoll();
    const failedAt = Date.now();
    fn.runtimeApi.failNextPoll(500);
    const exit = await fn.exited;
    expect(exit.code).not.toBe(0);
    expect(Date.now() - failedAt).toBeLessThan(1000);
  });

  it('exits non-zero when the connection is lost on /next', async () => {
    const root = await makeTaskRoot({ 'app.mjs': 'export const handler = async () => 1;' });
    const fn = await startBootstrap({ taskRoot: root, handler: 'app.handler' });
    await fn.runtimeApi.waitForPoll();
    fn.runtimeApi.closeNextPoll();
    expect((await fn.exited).code).not.toBe(0);
  });
});

describe('init errors', () => {
  const cases = [
    ['missing.handler', {}, 'Runtime.ImportModuleError', /missing/],
    ['app.handler', { 'app.mjs': 'throw new Error("cannot connect at import");' }, 'Runtime.ImportModuleError', /cannot connect at import/],
    ['app.nope', { 'app.mjs': 'export const handler = async () => 1;' }, 'Runtime.HandlerNotFound', /nope/],
    ['app.handler', { 'app.mjs': 'export const handler = async () => {' }, 'Runtime.UserCodeSyntaxError', /.+/],
    ['../escape.handler', {}, 'Runtime.MalformedHandlerName', /.+/],
  ] as const;
  for (const [handler, files, type, message] of cases) {
    it(`posts ${type} to /init/error and exits non-zero (${handler})`, async () => {
      const root = await makeTaskRoot(files);
      const fn = await startBootstrap({ taskRoot: root, handler });
      const initError = await fn.runtimeApi.waitForInitError();
      expect(initError.errorType).toBe(type);
      expect(initError.error?.errorMessage).toMatch(message);
      expect((await fn.exited).code).not.toBe(0);
    });
  }
});

describe('faults outside the handler', () => {
  it('reports an uncaught exception to the running invocation, then exits non-zero', async () => {
    const root = await makeTaskRoot({
      'app.mjs': `export const handler = () => new Promise(() => { setTimeout(() => { throw new RangeError('late'); }, 5); });`,
    });
    const fn = await startBootstrap({ taskRoot: root, handler: 'app.handler' });
    const result = await fn.invoke({});
    expect(result.errorType).toBe('Runtime.UncaughtException');
    expect(result.error?.errorMessage).toContain('late');
    expect((await fn.exited).code).not.toBe(0);
  });

  it('reports an unhandled rejection to the running invocation, then exits non-zero', async () => {
    const root = await makeTaskRoot({
      'app.mjs': `export const handler = () => { Promise.reject(new Error('forgotten')); return new Promise(() => {}); };`,
    });
    const fn = await startBootstrap({ taskRoot: root, handler: 'app.handler' });
    const result = await fn.invoke({});
    expect(result.errorType).toBe('Runtime.UnhandledPromiseRejection');
    expect(result.error?.errorMessage).toContain('forgotten');
    expect((await fn.exited).code).not.toBe(0);
  });

  it('reports an uncaught exception during init as the init error', async () => {
    const root = await makeTaskRoot({
      'app.mjs': `setImmediate(() => { throw new Error('boom at init'); });
        await new Promise((r) => setTimeout(r, 50));
        export const handler = async () => 1;`,
    });
    const fn = await startBootstrap({ taskRoot: root, handler: 'app.handler' });
    const initError = await fn.runtimeApi.waitForInitError();
    expect(initError.errorType).toBe('Runtime.UncaughtException');
    expect(initError.error?.errorMessage).toContain('boom at init');
    expect((await fn.exited).code).not.toBe(0);
  });
});

describe('logging', () => {
  const app = `export const handler = async () => {
    console.debug('debug line'); console.info('info line'); console.warn('warn line'); console.error(new TypeError('error line'));
    return 1; };`;

  it('writes Text lines with timestamp, request id and level, one event per call', async () => {
    const root = await makeTaskRoot({ 'app.mjs': `${app}\nexport const multi = async () => { console.log('a\\nb'); return 1; };` });
    const fn = await startBootstrap({ taskRoot: root, handler: 'app.multi' });
    await fn.invoke({}, { requestId: 'req-text' });
    await fn.waitForLog(/^\d{4}-\d\d-\d\dT[\d:.]+Z\treq-text\tINFO\ta\rb$/m);
  });

  it('writes JSON lines and applies AWS_LAMBDA_LOG_LEVEL', async () => {
    const root = await makeTaskRoot({ 'app.mjs': app });
    const fn = await startBootstrap({
      taskRoot: root,
      handler: 'app.handler',
      env: { AWS_LAMBDA_LOG_FORMAT: 'JSON', AWS_LAMBDA_LOG_LEVEL: 'WARN' },
    });
    await fn.invoke({}, { requestId: 'req-json' });
    await fn.stop();
    const lines = fn
      .stdout()
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(lines.map((l) => l.level)).toEqual(['WARN', 'ERROR']);
    expect(lines[0]).toMatchObject({ requestId: 'req-json', message: 'warn line' });
    expect(lines[0]?.timestamp).toEqual(expect.stringMatching(/Z$/));
    // An Error argument is structured, as the managed runtime's JSON formatter does.
    expect(lines[1]).toMatchObject({ message: { errorType: 'TypeError', errorMessage: 'error line' } });
  });
});

describeOnEachNode('managed instances (AWS_LAMBDA_MAX_CONCURRENCY)', (node) => {
  it('polls with that many loops and keeps each invocation in its own scope', async () => {
    const fn = await startBootstrap({
      node,
      taskRoot: E2E_FIXTURES,
      handler: 'scoped.handler',
      env: { AWS_LAMBDA_MAX_CONCURRENCY: '4' },
    });
    await fn.runtimeApi.waitForPoll(4);
    // The handler waits until 4 invocations have started: only concurrent loops get there.
    const results = await Promise.all(
      [1, 2, 3, 4].map((i) => fn.invoke({ barrier: 4, i }, { requestId: `req-${i}`, traceId: `Root=${i}` })),
    );
    results.forEach((result, index) => {
      const i = index + 1;
      expect(result.json()).toEqual({ scoped: `req-${i}`, context: `req-${i}`, trace: `Root=${i}`, event: { barrier: 4, i } });
    });
  });
});

describeOnEachNode('graceful shutdown', (node) => {
  it('runs onShutdown hooks on SIGTERM after registering an internal extension', async () => {
    const fn = await startBootstrap({ node, taskRoot: E2E_FIXTURES, handler: 'scoped.handler' });
    await fn.runtimeApi.waitForExtensions(1);
    expect((await fn.invoke({})).status).toBe('success');
    await fn.stop();
    expect(fn.logs()).toContain('shutdown hook ran');
    expect((await fn.exited).code).toBe(0);
  });

  it('registers no extension when no hook is registered, so Lambda does not wait', async () => {
    const root = await makeTaskRoot({ 'app.mjs': 'export const handler = async () => 1;' });
    const fn = await startBootstrap({ node, taskRoot: root, handler: 'app.handler' });
    await fn.invoke({});
    expect(fn.runtimeApi.extensions).toHaveLength(0);
  });
});

describeOnEachNode('response streaming', (node) => {
  const app = `
    const pause = () => new Promise((r) => setTimeout(r, 15));
    export const chunks = awslambda.streamifyResponse(async (event, stream) => {
      stream.setContentType('text/plain');
      for (const part of ['one ', 'two ', 'three']) { stream.write(part); await pause(); }
      stream.end();
    });
    export const failsMidway = awslambda.streamifyResponse(async (event, stream) => {
      stream.write('partial');
      await pause();
      throw new Error('upstream closed');
    });
    export const failsFirst = awslambda.streamifyResponse(async () => { throw new TypeError('before any byte'); });
    export const http = awslambda.streamifyResponse(async (event, stream) => {
      stream = awslambda.HttpResponseStream.from(stream, { statusCode: 201, headers: { 'x-a': 'b' } });
      stream.end('created');
    });
    export const empty = awslambda.streamifyResponse(async (event, stream) => { stream.end(); });
    export const emptyHttp = awslambda.streamifyResponse(async (event, stream) => {
      awslambda.HttpResponseStream.from(stream, { statusCode: 204 }).end();
    });
  `;

  it('streams chunks as they are written', async () => {
    const root = await makeTaskRoot({ 'app.mjs': app });
    const fn = await startBootstrap({ node, taskRoot: root, handler: 'app.chunks' });
    const result = await fn.invoke({});
    expect(result.status).toBe('success');
    expect(result.streamed).toBe(true);
    expect(result.contentType).toBe('text/plain');
    expect(result.text()).toBe('one two three');
    expect(result.chunks?.length).toBeGreaterThanOrEqual(3);
    expect(result.headers['lambda-runtime-function-response-mode']).toBe('streaming');
  });

  it('reports an error after the first byte in the error trailers, and goes on', async () => {
    const root = await makeTaskRoot({ 'app.mjs': app });
    const fn = await startBootstrap({ node, taskRoot: root, handler: 'app.failsMidway' });
    const result = await fn.invoke({});
    expect(result.status).toBe('error');
    expect(result.text()).toContain('partial');
    expect(result.trailers?.['lambda-runtime-function-error-type']).toBe('Function.Error');
    const body = JSON.parse(Buffer.from(result.trailers?.['lambda-runtime-function-error-body'] ?? '', 'base64').toString());
    expect(body).toMatchObject({ errorType: 'Error', errorMessage: 'upstream closed' });
    expect((await fn.invoke({})).status).toBe('error');
  });

  it('posts a plain error when the handler fails before writing', async () => {
    const root = await makeTaskRoot({ 'app.mjs': app });
    const fn = await startBootstrap({ node, taskRoot: root, handler: 'app.failsFirst' });
    const result = await fn.invoke({});
    expect(result.errorType).toBe('Function.TypeError');
    expect(result.error?.errorMessage).toBe('before any byte');
  });

  it('writes the HTTP-integration prelude, then 8 NUL bytes, then the body', async () => {
    const root = await makeTaskRoot({ 'app.mjs': app });
    const fn = await startBootstrap({ node, taskRoot: root, handler: 'app.http' });
    const result = await fn.invoke({});
    expect(result.contentType).toBe('application/vnd.awslambda.http-integration-response');
    const body = result.body;
    const split = body.indexOf(Buffer.alloc(8));
    expect(JSON.parse(body.subarray(0, split).toString())).toEqual({ statusCode: 201, headers: { 'x-a': 'b' } });
    expect(body.subarray(split + 8).toString()).toBe('created');
  });

  it('completes an empty stream and end() without write()', async () => {
    const root = await makeTaskRoot({ 'app.mjs': app });
    for (const handler of ['app.empty', 'app.emptyHttp']) {
      const fn = await startBootstrap({ node, taskRoot: root, handler });
      const result = await fn.invoke({});
      expect(result.status, handler).toBe('success');
      expect(result.streamed).toBe(true);
    }
  });
});

describe('the Runtime Interface Emulator wire protocol', () => {
  it('answers POST /2015-03-31/functions/function/invocations like the emulator', async () => {
    const root = await makeTaskRoot({ 'app.mjs': faults });
    const fn = await startBootstrap({ taskRoot: root, handler: 'app.ok' });
    const url = `${fn.runtimeApi.url}/2015-03-31/functions/function/invocations`;
    const res = await fetch(url, { method: 'POST', body: JSON.stringify({ from: 'curl' }) });
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ ok: true, event: { from: 'curl' } });

    const failing = await startBootstrap({ taskRoot: root, handler: 'app.throwsTypeError' });
    const err = await fetch(`${failing.runtimeApi.url}/2015-03-31/functions/function/invocations`, { method: 'POST', body: '{}' });
    expect(err.headers.get('x-amz-function-error')).toBe('Unhandled');
    expect(await err.json()).toMatchObject({ errorType: 'TypeError' });
  });
});

describe('command handlers (shell scripts and binaries)', () => {
  const script = `#!/bin/sh
set -eu
event=$(cat)
case "$event" in
  *fail*) echo "something broke: disk full" >&2; exit 3 ;;
esac
echo "diagnostics on stderr" >&2
printf '{"event":%s,"requestId":"%s","trace":"%s","function":"%s","deadline":"%s"}' \\
  "$event" "$AWS_LAMBDA_REQUEST_ID" "\${_X_AMZN_TRACE_ID:-}" "$AWS_LAMBDA_FUNCTION_NAME" "$AWS_LAMBDA_DEADLINE_MS"
`;

  it('runs the script per invocation with the event on stdin and Lambda variables set', async () => {
    const root = await makeTaskRoot({ 'handler.sh': { content: script, mode: 0o755 } });
    const fn = await startBootstrap({ taskRoot: root, handler: 'handler.sh', functionName: 'sh-fn' });
    const result = await fn.invoke({ name: 'x' }, { requestId: 'req-sh', traceId: 'Root=1-sh' });
    expect(result.status, fn.logs()).toBe('success');
    const body = result.json<Record<string, unknown>>();
    expect(body).toMatchObject({ event: { name: 'x' }, requestId: 'req-sh', trace: 'Root=1-sh', function: 'sh-fn' });
    expect(Number(body.deadline)).toBeGreaterThan(Date.now() - 60_000);
    await fn.waitForLog(/req-sh\tINFO\tdiagnostics on stderr/);
  });

  it('reports a non-zero exit with the stderr tail, and serves the next event', async () => {
    const root = await makeTaskRoot({ 'bin/handler.sh': { content: script, mode: 0o755 } });
    const fn = await startBootstrap({ taskRoot: root, handler: 'bin/handler.sh' });
    const failed = await fn.invoke({ please: 'fail' });
    expect(failed.errorType).toBe('Function.CommandFailed');
    expect(failed.error?.errorMessage).toContain('disk full');
    expect(failed.error?.errorMessage).toMatch(/\b3\b/);
    expect((await fn.invoke({ ok: 1 })).status).toBe('success');
  });

  it('runs from an absolute task-root path given as the image CMD would', async () => {
    const root = await makeTaskRoot({ 'handler.sh': { content: script, mode: 0o755 } });
    const fn = await startBootstrap({ taskRoot: root, handler: path.join(root, 'handler.sh') });
    expect((await fn.invoke({})).status).toBe('success');
  });
});
