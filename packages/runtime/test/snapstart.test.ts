/**
 * SnapStart through the built bootstrap (dist/bootstrap) on the Runtime API stand-in: the
 * process is paused (SIGSTOP) while it waits on restore/next, as Lambda freezes it for the
 * snapshot, then resumed and answered.
 *
 * The lifecycle, from the official clients:
 * - aws/aws-lambda-python-runtime-interface-client awslambdaric/bootstrap.py (commit 0184e90),
 *   `on_init_complete`: before-snapshot hooks, then `restore_next()`; a failure of either is
 *   posted to /init/error as `Runtime.BeforeSnapshotError` and the process exits 64; a failing
 *   after-restore hook is posted with `report_restore_error` and the process exits 65.
 * - awslambdaric/lambda_runtime_hooks_runner.py lines 9-20: before-snapshot hooks are popped
 *   (reverse order of registration), after-restore hooks run in order.
 * - awslambdaric/lambda_runtime_client.py (commit 3b6a82f), `restore_next` (GET
 *   /2018-06-01/runtime/restore/next, expects 200) and `report_restore_error` (POST
 *   /2018-06-01/runtime/restore/error with `Lambda-Runtime-Function-Error-Type:
 *   Runtime.AfterRestoreError`, expects 202).
 */
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';
import { makeTaskRoot, REPO_ROOT, startBootstrap } from '@custom-runtime/test-support';
import type { RecordedRequest } from '@custom-runtime/local';

/** The handler-facing API as a handler's own copy of the package would load it. */
const RUNTIME_API = pathToFileURL(path.join(REPO_ROOT, 'packages/runtime/lib/index.js')).href;

const RESTORE_NEXT = '/2018-06-01/runtime/restore/next';
const NEXT = '/2018-06-01/runtime/invocation/next';

/** A handler module that logs each lifecycle step as `step:<name>`. */
function lifecycleModule(extra = ''): string {
  return `
import { onBeforeSnapshot, onAfterRestore } from ${JSON.stringify(RUNTIME_API)};
const step = (name) => console.log('step:' + name);
step('init');
onBeforeSnapshot(() => step('before-1'));
onBeforeSnapshot(async () => { await new Promise((r) => setTimeout(r, 5)); step('before-2'); });
onAfterRestore(async () => { await new Promise((r) => setTimeout(r, 5)); step('after-1'); });
onAfterRestore(() => step('after-2'));
${extra}
export const handler = async () => { step('invoke'); return { ok: true }; };
`;
}

function steps(logs: string): string[] {
  return [...logs.matchAll(/step:([\w-]+)/g)].map((m) => m[1] as string);
}

function paths(requests: readonly RecordedRequest[]): string[] {
  return requests.map((r) => new URL(r.path, 'http://x').pathname);
}

describe('SnapStart lifecycle (AWS_LAMBDA_INITIALIZATION_TYPE=snap-start)', () => {
  it('runs init, the before-snapshot hooks in reverse, restore/next, the after-restore hooks in order, then /next', async () => {
    // An exported object with the config contract's symbols, refreshed before the user's hooks.
    const config = `
export const config = {
  [Symbol.for('@custom-runtime/prefetch')]: async () => step('prefetch'),
  [Symbol.for('@custom-runtime/after-restore')]: async () => step('config-refresh'),
};`;
    const root = await makeTaskRoot({ 'app.mjs': lifecycleModule(config) });
    const fn = await startBootstrap({ taskRoot: root, handler: 'app.handler', snapStart: true });
    expect(fn.env.AWS_LAMBDA_INITIALIZATION_TYPE).toBe('snap-start');

    await fn.snapshot();
    await fn.waitForLog(/step:before-1/);
    expect(steps(fn.logs())).toEqual(['init', 'prefetch', 'before-2', 'before-1']);
    expect(paths(fn.runtimeApi.requests)).toEqual([RESTORE_NEXT]);

    await fn.restore();
    const result = await fn.invoke({});
    expect(result.status, fn.logs()).toBe('success');
    await fn.waitForLog(/step:invoke/);
    expect(steps(fn.logs())).toEqual([
      'init',
      'prefetch',
      'before-2',
      'before-1',
      'config-refresh',
      'after-1',
      'after-2',
      'invoke',
    ]);
    const seen = paths(fn.runtimeApi.requests);
    expect(seen[0]).toBe(RESTORE_NEXT);
    expect(seen.slice(1)).toContain(NEXT);
    expect(seen.filter((p) => p === RESTORE_NEXT)).toHaveLength(1);
  });

  it('reports a failing before-snapshot hook as the init error Runtime.BeforeSnapshotError and exits', async () => {
    const root = await makeTaskRoot({
      'app.mjs': lifecycleModule(`onBeforeSnapshot(() => { throw new RangeError('pool still open'); });`),
    });
    const fn = await startBootstrap({ taskRoot: root, handler: 'app.handler', snapStart: true });
    const initError = await fn.runtimeApi.waitForInitError();
    expect(initError.errorType).toBe('Runtime.BeforeSnapshotError');
    expect(initError.error).toMatchObject({ errorType: 'RangeError', errorMessage: 'pool still open' });
    await expect(fn.snapshot()).rejects.toThrow(/init error/);
    expect((await fn.exited).code).toBe(64);
    // The failing hook was registered last, so it ran first; nothing after it ran.
    expect(steps(fn.logs())).toEqual(['init']);
    expect(paths(fn.runtimeApi.requests)).not.toContain(RESTORE_NEXT);
  });

  it('posts a failing after-restore hook to restore/error as Runtime.AfterRestoreError and exits', async () => {
    const root = await makeTaskRoot({
      'app.mjs': lifecycleModule(`onAfterRestore(() => { throw new TypeError('cannot reconnect'); });`),
    });
    const fn = await startBootstrap({ taskRoot: root, handler: 'app.handler', snapStart: true });
    await fn.restore();
    const restoreError = await fn.runtimeApi.waitForRestoreError();
    expect(restoreError.errorType).toBe('Runtime.AfterRestoreError');
    expect(restoreError.error).toMatchObject({ errorType: 'TypeError', errorMessage: 'cannot reconnect' });
    expect((await fn.exited).code).toBe(65);
    expect(steps(fn.logs())).toEqual(['init', 'before-2', 'before-1', 'after-1', 'after-2']);
    expect(paths(fn.runtimeApi.requests)).not.toContain(NEXT);
    expect(fn.runtimeApi.initError).toBeUndefined();
  });

  // Lambda allows 10 s for the restore (the guide's "Troubleshooting SnapStart errors",
  // SnapStartTimeoutException); the runtime reports a hook still running after 9 s itself.
  it('reports after-restore hooks that outlast the restore budget as Runtime.AfterRestoreError', { timeout: 30_000 }, async () => {
    const root = await makeTaskRoot({
      'app.mjs': lifecycleModule(`onAfterRestore(() => new Promise(() => {}));`),
    });
    const fn = await startBootstrap({ taskRoot: root, handler: 'app.handler', snapStart: true });
    await fn.restore();
    const restoreError = await fn.runtimeApi.waitForRestoreError();
    expect(restoreError.errorType).toBe('Runtime.AfterRestoreError');
    expect(restoreError.error?.errorMessage).toMatch(/after-restore hooks did not finish within 9000 ms \(Lambda allows 10000 ms\)/);
    expect((await fn.exited).code).toBe(65);
    expect(paths(fn.runtimeApi.requests)).not.toContain(NEXT);
  });

  it('treats a restore/next the Runtime API refuses as a before-snapshot failure', async () => {
    const root = await makeTaskRoot({ 'app.mjs': lifecycleModule() });
    // A Runtime API without the SnapStart endpoints answers 404.
    const fn = await startBootstrap({
      taskRoot: root,
      handler: 'app.handler',
      env: { AWS_LAMBDA_INITIALIZATION_TYPE: 'snap-start' },
    });
    const initError = await fn.runtimeApi.waitForInitError();
    expect(initError.errorType).toBe('Runtime.BeforeSnapshotError');
    expect(initError.error?.errorMessage).toMatch(/restore\/next answered 404/);
    expect((await fn.exited).code).toBe(64);
  });
});

describe('any other initialization type', () => {
  for (const type of ['on-demand', 'provisioned-concurrency']) {
    it(`${type}: no hook runs and restore/next is never called`, async () => {
      const root = await makeTaskRoot({ 'app.mjs': lifecycleModule() });
      const fn = await startBootstrap({
        taskRoot: root,
        handler: 'app.handler',
        env: { AWS_LAMBDA_INITIALIZATION_TYPE: type },
      });
      const result = await fn.invoke({});
      expect(result.status, fn.logs()).toBe('success');
      await fn.waitForLog(/step:invoke/);
      expect(steps(fn.logs())).toEqual(['init', 'invoke']);
      expect(paths(fn.runtimeApi.requests)).not.toContain(RESTORE_NEXT);
      await expect(fn.snapshot()).rejects.toThrow(/snapStart: true/);
    });
  }
});
