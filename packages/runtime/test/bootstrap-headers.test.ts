/**
 * Header bytes of `/next` through the built bootstrap: decoded as UTF-8 (the encoding Lambda
 * sends), ids percent-encoded as UTF-8 in the post paths, and an invocation id that cannot be
 * echoed never costing the invocation its result.
 */
import { expect, it } from 'vitest';
import { describeOnEachNode, makeTaskRoot, startBootstrap } from '@custom-runtime/test-support';

/** Node's server decodes request headers as latin1: the bytes the runtime sent, as UTF-8. */
const asUtf8 = (value: unknown): string => Buffer.from(String(value), 'latin1').toString('utf8');

describeOnEachNode('header bytes', (node) => {
  const app = `export const handler = async (event, c) => ({
    custom: c.clientContext?.custom, identity: c.identity, tenant: c.tenantId, requestId: c.awsRequestId, trace: c.xRayTraceId });`;

  it('hands UTF-8 header values to the handler intact', async () => {
    const root = await makeTaskRoot({ 'app.mjs': app });
    const fn = await startBootstrap({ node, taskRoot: root, handler: 'app.handler' });
    const result = await fn.invoke(
      {},
      {
        clientContext: { custom: { greeting: 'Café ⚡', emoji: '🦄' } },
        cognitoIdentity: { cognitoIdentityId: 'id-ü', cognitoIdentityPoolId: 'pool-✓' },
        tenantId: 'tenant-Ω',
      },
    );
    expect(result.status, fn.logs()).toBe('success');
    expect(result.json()).toMatchObject({
      custom: { greeting: 'Café ⚡', emoji: '🦄' },
      identity: { cognitoIdentityId: 'id-ü', cognitoIdentityPoolId: 'pool-✓' },
      tenant: 'tenant-Ω',
    });
  });

  it('posts to the URL of a non-ASCII request id, percent-encoded as UTF-8', async () => {
    const root = await makeTaskRoot({ 'app.mjs': app });
    const fn = await startBootstrap({ node, taskRoot: root, handler: 'app.handler' });
    const requestId = 'req-é-⚡';
    const result = await fn.invoke({}, { requestId });
    expect(result.status, fn.logs()).toBe('success');
    expect(result.json()).toMatchObject({ requestId });
    const post = fn.runtimeApi.requests.find((r) => r.method === 'POST');
    expect(post?.path).toBe(`/2018-06-01/runtime/invocation/${encodeURIComponent(requestId)}/response`);
  });

  it('echoes a non-ASCII Lambda-Runtime-Invocation-Id byte for byte', async () => {
    const root = await makeTaskRoot({ 'app.mjs': app });
    const fn = await startBootstrap({ node, taskRoot: root, handler: 'app.handler' });
    const result = await fn.invoke({}, { invocationId: 'inv-ñ-⚡' });
    expect(result.status, fn.logs()).toBe('success');
    expect(asUtf8(result.headers['lambda-runtime-invocation-id'])).toBe('inv-ñ-⚡');
  });

  it('posts the result without an invocation id that is not UTF-8, and says so in the log', async () => {
    const root = await makeTaskRoot({ 'app.mjs': 'export const handler = async () => "kept";' });
    const fn = await startBootstrap({ node, taskRoot: root, handler: 'app.handler' });
    const result = await fn.invoke(
      {},
      { requestId: 'req-bad-id', headerBytes: { 'Lambda-Runtime-Invocation-Id': Uint8Array.from([0x69, 0xff, 0xfe]) } },
    );
    expect(result.status, fn.logs()).toBe('success');
    expect(result.json()).toBe('kept');
    expect(result.headers['lambda-runtime-invocation-id']).toBeUndefined();
    await fn.waitForLog(/req-bad-id.*Invocation-Id|Invocation-Id.*req-bad-id/);
    expect((await fn.invoke({})).status).toBe('success');
  });
});
