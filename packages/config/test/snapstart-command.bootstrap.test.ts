/**
 * A command handler whose config is attached with CUSTOM_RUNTIME_CONFIG, across a SnapStart
 * snapshot, through the built bootstrap: the definition prefetched at init is refreshed once
 * restored (packages/runtime src/snapstart.ts, `afterRestore`; the definition is among the init
 * hooks' `prefetched`), so the script's environment holds the value rotated while the process
 * was paused, fetched in one batch call before the first /next.
 */
import { describe, expect, it } from 'vitest';
import { sha256, startWorld } from './fixtures/world.js';

describe('a command handler with CUSTOM_RUNTIME_CONFIG after a SnapStart restore', () => {
  it('runs the script with the secret rotated while snapshotted, fetched in one batch call during the restore', async () => {
    const world = await startWorld();
    const api = world.sm.createSecret('snap/command-api', JSON.stringify({ apiKey: 'command-key-1' }));
    const fn = await world.start({
      handler: 'snapstart-command.sh',
      snapStart: true,
      env: { API_KEY_SECRET: api.name, CUSTOM_RUNTIME_CONFIG: 'snapstart-command-config.config' },
    });
    await fn.snapshot();
    // Prefetched during init, before the snapshot.
    expect(world.sm.calls.map((c) => c.operation)).toEqual(['BatchGetSecretValue']);

    world.sm.putSecretValue(api.name, JSON.stringify({ apiKey: 'command-key-2' }));
    world.sm.resetCalls();
    await fn.restore();
    await fn.runtimeApi.waitForPoll();
    // Refreshed before the first /next was answered.
    expect(world.sm.calls.map((c) => c.operation)).toEqual(['BatchGetSecretValue']);

    const first = await fn.invoke({});
    expect(first.status, fn.logs()).toBe('success');
    expect(first.json()).toEqual({ apiKey: sha256('command-key-2') });
    expect((await fn.invoke({})).json()).toEqual(first.json());
    // Both invocations were served from the refreshed cache.
    expect(world.sm.callCount()).toBe(1);
    expect(fn.logs()).not.toMatch(/command-key-/);
  });
});
