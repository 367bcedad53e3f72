/**
 * `globalThis.awslambda.InvokeStore` as the managed runtime publishes it (the official client
 * runs every invocation inside `InvokeStore.run` with the request id, trace id and tenant id:
 * aws-lambda-nodejs-runtime-interface-client src/runtime/runtime.ts, `runWithInvokeContext`),
 * and real Powertools and Middy handlers, bundled as a user bundles them, through the built
 * bootstrap with one loop and with AWS_LAMBDA_MAX_CONCURRENCY=4.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { describeOnEachNode, makeTaskRoot, startBootstrap, type BootstrapNode } from '@custom-runtime/test-support';

const FIXTURE = fileURLToPath(new URL('./fixtures/powertools/handlers.ts', import.meta.url));

let bundleDir: string;

beforeAll(async () => {
  bundleDir = await mkdtemp(path.join(tmpdir(), 'powertools-bundle-'));
  await build({
    entryPoints: [FIXTURE],
    outfile: path.join(bundleDir, 'index.js'),
    bundle: true,
    platform: 'node',
    target: 'node20',
    format: 'cjs',
    logLevel: 'silent',
  });
}, 60_000);

afterAll(async () => {
  await rm(bundleDir, { recursive: true, force: true });
});

describeOnEachNode('the invoke store', (node) => {
  const app = `
    const store = () => globalThis.awslambda?.InvokeStore;
    const key = Symbol('mine');
    const view = () => ({ requestId: store().getRequestId(), trace: store().getXRayTraceId() ?? null, tenant: store().getTenantId() ?? null });
    export const atInit = { has: store() !== undefined, hasContext: store()?.hasContext(), requestId: store()?.getRequestId() };
    export const handler = async (event) => {
      store().set(key, event.i);
      const before = view();
      await new Promise((r) => setTimeout(r, 5 + (event.i % 3) * 5));
      let protectedRefused = false;
      try { store().set(Symbol.for('_AWS_LAMBDA_REQUEST_ID'), 'forged'); } catch { protectedRefused = true; }
      return { before, after: view(), mine: store().get(key), protectedRefused, atInit };
    };
  `;

  for (const concurrency of [undefined, '4']) {
    it(`publishes request id, trace id and tenant id per invocation (AWS_LAMBDA_MAX_CONCURRENCY=${concurrency ?? 'unset'})`, async () => {
      const root = await makeTaskRoot({ 'app.mjs': app });
      const fn = await startBootstrap({
        node,
        taskRoot: root,
        handler: 'app.handler',
        env: concurrency === undefined ? {} : { AWS_LAMBDA_MAX_CONCURRENCY: concurrency },
      });
      if (concurrency !== undefined) await fn.runtimeApi.waitForPoll(4);
      const results = await Promise.all(
        [1, 2, 3, 4, 5, 6].map((i) =>
          fn.invoke({ i }, { requestId: `req-${i}`, traceId: `Root=1-00000000-00000000000000000000000${i};Sampled=1`, tenantId: `t-${i}` }),
        ),
      );
      results.forEach((result, index) => {
        const i = index + 1;
        const expected = { requestId: `req-${i}`, trace: `Root=1-00000000-00000000000000000000000${i};Sampled=1`, tenant: `t-${i}` };
        expect(result.status, fn.logs()).toBe('success');
        expect(result.json()).toEqual({
          before: expected,
          after: expected,
          mine: i,
          protectedRefused: true,
          atInit: { has: true, hasContext: false, requestId: '-' },
        });
      });
    });
  }
});

async function powertoolsRun(node: BootstrapNode, handler: 'plain' | 'wrapped'): Promise<void> {
  const fn = await startBootstrap({
    node,
    taskRoot: bundleDir,
    handler: `index.${handler}`,
    env: {
      AWS_LAMBDA_MAX_CONCURRENCY: '4',
      POWERTOOLS_LOG_LEVEL: 'INFO',
      // Tracer sends segments over UDP to this address: local, and nobody listens.
      AWS_XRAY_DAEMON_ADDRESS: '127.0.0.1:2000',
      AWS_XRAY_CONTEXT_MISSING: 'IGNORE_ERROR',
    },
  });
  await fn.runtimeApi.waitForPoll(4);
  const ids = Array.from({ length: 12 }, (_, i) => i + 1);
  const trace = (i: number): string => `1-5759e988-bd862e3fe1be46a99427${String(1000 + i).padStart(4, '0')}`;
  const results = await Promise.all(
    ids.map((i) => fn.invoke({ i }, { requestId: `req-${i}`, traceId: `Root=${trace(i)};Parent=557abcec3ee5a047;Sampled=1` })),
  );
  results.forEach((result, index) => {
    const i = index + 1;
    expect(result.status, `${handler} ${i}: ${result.text()}\n${fn.logs()}`).toBe('success');
    expect(result.json()).toEqual({ i, requestId: `req-${i}`, traceId: trace(i) });
  });
  await fn.stop();
  const records = fn
    .stdout()
    .split('\n')
    .filter((line) => line.startsWith('{'))
    .map((line) => JSON.parse(line) as Record<string, unknown>);
  const logLines = records.filter((r) => r.service === 'parity' && typeof r.message === 'string');
  // started, middle, finished for each invocation, each with its own ids.
  expect(logLines).toHaveLength(ids.length * 3);
  for (const line of logLines) {
    const i = line.i as number;
    expect(line, JSON.stringify(line)).toMatchObject({ function_request_id: `req-${i}`, xray_trace_id: trace(i) });
    if (line.message !== 'started') expect(line.step).toBe('middle');
  }
  const emf = records.filter((r) => r._aws !== undefined);
  expect(emf).toHaveLength(ids.length);
  for (const record of emf) {
    expect(record.requestId).toBe(`req-${record.invocation as string}`);
    expect(record.calls).toBe(1);
  }
  expect(fn.logs()).not.toMatch(/InvokeStore is not available|No context available|Invoke Error/);
}

describeOnEachNode('Powertools Logger, Tracer and Metrics under AWS_LAMBDA_MAX_CONCURRENCY=4', (node) => {
  it('keeps every log line and metric on its own invocation, used by hand', async () => {
    await powertoolsRun(node, 'plain');
  }, 30_000);

  it('keeps every log line and metric on its own invocation, wrapped by Middy', async () => {
    await powertoolsRun(node, 'wrapped');
  }, 30_000);
});

describeOnEachNode('a bundled copy of @aws/lambda-invoke-store', (node) => {
  for (const concurrency of [undefined, '4']) {
    it(`finds the runtime's store through InvokeStore.getInstanceAsync() (AWS_LAMBDA_MAX_CONCURRENCY=${concurrency ?? 'unset'})`, async () => {
      const fn = await startBootstrap({
        node,
        taskRoot: bundleDir,
        handler: 'index.viaPackage',
        env: concurrency === undefined ? {} : { AWS_LAMBDA_MAX_CONCURRENCY: concurrency },
      });
      const results = await Promise.all(
        [1, 2, 3, 4].map((i) => fn.invoke({ i }, { requestId: `req-${i}`, traceId: `Root=${i}` })),
      );
      results.forEach((result, index) => {
        const i = index + 1;
        expect(result.json(), fn.logs()).toEqual({ i, requestId: `req-${i}`, traceId: `Root=${i}`, sameAsGlobal: true });
      });
    });
  }
});

describe('the bundle under test', () => {
  it('holds real Powertools and Middy code, not stand-ins', async () => {
    const { readFile } = await import('node:fs/promises');
    const bundled = await readFile(path.join(bundleDir, 'index.js'), 'utf8');
    expect(bundled).toContain('InvokeStore is not available');
    expect(bundled).toContain('@middy/core');
  });
});
