/**
 * What the loop survives, through the built bootstrap: handlers that never settle, exotic
 * thrown values, deadlines Lambda does not enforce (Managed Instances), and a Runtime API that
 * answers a post with 500.
 */
import { expect, it } from 'vitest';
import { describeOnEachNode, makeTaskRoot, startBootstrap } from '@custom-runtime/test-support';

describeOnEachNode('handlers that never settle', (node) => {
  it('reports a pending promise with an empty event loop as Runtime.NodeJsExit and serves the next event', async () => {
    // The official client's beforeExit listener posts NodeJsExit for an async handler
    // (aws-lambda-nodejs-runtime-interface-client src/Runtime.js, `_setDefaultExitListener`).
    const root = await makeTaskRoot({
      'app.mjs': `export const handler = async (event) => { if (event.hang) await new Promise(() => {}); return 'served'; };`,
    });
    const fn = await startBootstrap({ node, taskRoot: root, handler: 'app.handler', timeoutMs: 30_000 });
    const hung = await fn.invoke({ hang: true });
    expect(hung.status, fn.logs()).toBe('error');
    expect(hung.errorType).toBe('Runtime.NodeJsExit');
    expect(hung.error?.errorMessage).toMatch(/Promise that was never settled/);
    expect((await fn.invoke({})).json()).toBe('served');
    expect(fn.hasExited).toBe(false);
    await fn.waitForLog(/Invoke Error.*Runtime\.NodeJsExit/);
  });

  it('ends each invocation at its deadline under Managed Instances and polls again (AWS_LAMBDA_MAX_CONCURRENCY=2)', async () => {
    const root = await makeTaskRoot({
      'app.mjs': `export const handler = async (event, context) => {
        if (event.hang) {
          // Keeps the event loop busy, as a stuck client would: only the runtime's deadline ends this.
          setInterval(() => {}, 1000);
          await new Promise((resolve) => context.signal.addEventListener('abort', () => setTimeout(resolve, 10_000)));
        }
        return 'served';
      };`,
    });
    const fn = await startBootstrap({ node, taskRoot: root, handler: 'app.handler', env: { AWS_LAMBDA_MAX_CONCURRENCY: '2' } });
    await fn.runtimeApi.waitForPoll(2);
    const [a, b] = await Promise.all([
      // As on Managed Instances, the platform leaves the deadline to the runtime.
      fn.invoke({ hang: true }, { timeoutMs: 600, enforceTimeout: false }),
      fn.invoke({ hang: true }, { timeoutMs: 600, enforceTimeout: false }),
    ]);
    for (const result of [a, b]) {
      expect(result?.status, fn.logs()).toBe('error');
      // Posted by the runtime, not decided by the stand-in's own timer.
      expect(result?.headers['lambda-runtime-function-error-type']).toBe('Sandbox.Timedout');
      expect(result?.error?.errorMessage).toMatch(/^Task timed out after \d+\.\d\d seconds$/);
    }
    // Both loops are free again.
    const more = await Promise.all([fn.invoke({}), fn.invoke({})]);
    expect(more.map((r) => r.json())).toEqual(['served', 'served']);
  });

  it('enforces the deadline with AWS_LAMBDA_INITIALIZATION_TYPE=lambda-managed-instances too', async () => {
    const root = await makeTaskRoot({
      'app.mjs': `export const handler = async (event) => { if (event.hang) { setInterval(() => {}, 1000); await new Promise(() => {}); } return 'served'; };`,
    });
    const fn = await startBootstrap({
      node,
      taskRoot: root,
      handler: 'app.handler',
      env: { AWS_LAMBDA_INITIALIZATION_TYPE: 'lambda-managed-instances' },
    });
    const hung = await fn.invoke({ hang: true }, { timeoutMs: 400, enforceTimeout: false });
    expect(hung.headers['lambda-runtime-function-error-type']).toBe('Sandbox.Timedout');
    expect((await fn.invoke({})).json()).toBe('served');
  });

  it('aborts context.signal at the deadline in the default mode, where Lambda enforces the timeout', async () => {
    const root = await makeTaskRoot({
      'app.mjs': `export const handler = async (event, context) => {
        const { signal } = context;
        const before = signal.aborted;
        const reason = await new Promise((resolve) => signal.addEventListener('abort', () => resolve(signal.reason)));
        return { before, name: reason.name, remaining: context.getRemainingTimeInMillis() };
      };`,
    });
    const fn = await startBootstrap({ node, taskRoot: root, handler: 'app.handler' });
    // The stand-in leaves the deadline alone so that the handler's answer after the abort is seen.
    const result = await fn.invoke({}, { timeoutMs: 300, enforceTimeout: false });
    expect(result.status, fn.logs()).toBe('success');
    expect(result.json()).toEqual({ before: false, name: 'TimeoutError', remaining: 0 });
    expect(result.durationMs).toBeGreaterThanOrEqual(250);
  });
});

describeOnEachNode('thrown values that fight back', (node) => {
  const app = `
    const trap = () => { throw new Error('trap ran'); };
    export const proxy = async () => { throw new Proxy({}, { getPrototypeOf: trap, get: trap, has: trap, ownKeys: trap, getOwnPropertyDescriptor: trap }); };
    export const proxyError = async () => { throw new Proxy(new Error('inner'), { getPrototypeOf: trap, get: trap }); };
    export const getters = async () => {
      const err = new Error('x');
      for (const key of ['name', 'message', 'stack', 'constructor']) Object.defineProperty(err, key, { get: trap });
      throw err;
    };
    export const inspector = async () => { throw { [Symbol.for('nodejs.util.inspect.custom')]: trap, toJSON: trap }; };
    export const symbol = async () => { throw Symbol('s'); };
    export const nothing = async () => { throw undefined; };
    export const ok = async () => 'still serving';
  `;
  for (const handler of ['proxy', 'proxyError', 'getters', 'inspector', 'symbol', 'nothing']) {
    it(`reports \`${handler}\` as an invocation error and keeps serving`, async () => {
      const root = await makeTaskRoot({ 'app.mjs': `${app}\nlet n = 0; export const mixed = async (...args) => (n++ % 2 === 0 ? exports_[${JSON.stringify(handler)}](...args) : 'still serving');\nconst exports_ = { proxy, proxyError, getters, inspector, symbol, nothing };` });
      const fn = await startBootstrap({ node, taskRoot: root, handler: 'app.mixed' });
      for (let round = 0; round < 2; round++) {
        const failed = await fn.invoke({});
        expect(failed.status, fn.logs()).toBe('error');
        expect(failed.errorType).toMatch(/^Function\./);
        expect((await fn.invoke({})).json()).toBe('still serving');
      }
      expect(fn.hasExited).toBe(false);
      expect(fn.logs()).not.toContain('Runtime API unavailable');
    });
  }
});

describeOnEachNode('handlers that break what the runtime uses', (node) => {
  it('reports the failure of a handler that replaced JSON.stringify, and keeps serving', async () => {
    // Before, building the /error body threw and the process exited as if the Runtime API were gone.
    const root = await makeTaskRoot({
      'app.mjs': `let n = 0; export const handler = async () => { if (n++ === 0) { JSON.stringify = () => { throw new Error('stringify broken'); }; throw new Error('json broken'); } return 'ok'; };`,
    });
    const fn = await startBootstrap({ node, taskRoot: root, handler: 'app.handler' });
    const failed = await fn.invoke({});
    expect(failed.errorType, fn.logs()).toBe('Function.Error');
    expect(failed.error?.errorMessage).toBe('json broken');
    // The result is serialised with the handler's JSON.stringify, as the managed runtime does.
    const next = await fn.invoke({});
    expect(next.errorType).toBe('Runtime.ResponseSerializationError');
    expect(next.error?.errorMessage).toContain('stringify broken');
    expect(fn.hasExited).toBe(false);
    expect(fn.logs()).not.toContain('Runtime API unavailable');
  });

  it('reports an uncaught exception after the handler replaced JSON.stringify, then exits', async () => {
    const root = await makeTaskRoot({
      'app.mjs': `export const handler = async () => { JSON.stringify = () => { throw new Error('stringify broken'); }; setTimeout(() => { throw new Error('later'); }, 1); await new Promise(() => setInterval(() => {}, 1000)); };`,
    });
    const fn = await startBootstrap({ node, taskRoot: root, handler: 'app.handler' });
    const failed = await fn.invoke({});
    // Posted by the runtime (the stand-in reports a process that exits silently as Runtime.ExitError).
    expect(failed.errorType, fn.logs()).toBe('Runtime.UncaughtException');
    expect(failed.error?.errorMessage).toBe('later');
    expect((await fn.exited).code).toBe(129);
  });
});

describeOnEachNode('a Runtime API in a non-recoverable state', (node) => {
  for (const [what, body] of [
    ['/response', 'async () => "ok"'],
    ['/error', 'async () => { throw new Error("bad"); }'],
  ] as const) {
    it(`exits promptly when ${what} answers 500`, async () => {
      // Runtime API spec, POST /runtime/invocation/{id}/response and /error, 500:
      // "Container error. Non-recoverable state. Runtime should exit promptly."
      const root = await makeTaskRoot({ 'app.mjs': `export const handler = ${body};` });
      const fn = await startBootstrap({ node, taskRoot: root, handler: 'app.handler' });
      await fn.runtimeApi.waitForPoll();
      fn.runtimeApi.failNextPost(500);
      void fn.invoke({}).catch(() => {});
      const exit = await fn.exited;
      expect(exit.code).not.toBe(0);
      expect(fn.logs()).toMatch(/answered 500/);
      // It did not go back to /next after the 500.
      const posts = fn.runtimeApi.requests.filter((r) => r.method === 'POST');
      const last = fn.runtimeApi.requests.at(-1);
      expect(posts).toHaveLength(1);
      expect(last?.method).toBe('POST');
    });
  }
});
