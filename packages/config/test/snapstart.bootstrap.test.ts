/**
 * Config across a SnapStart snapshot, end to end: the built bootstrap initialises with
 * `AWS_LAMBDA_INITIALIZATION_TYPE=snap-start`, prefetches, and is paused (SIGSTOP) on
 * restore/next; while it is "snapshotted" a secret is rotated and the credentials Lambda serves
 * change; after the restore the first invocation must see both.
 *
 * Credentials come from `AWS_CONTAINER_CREDENTIALS_FULL_URI`, as for SnapStart functions: an
 * environment variable cannot change under a running process, an endpoint's answer can. The
 * endpoint is a small one of this test's own, answering in the format of
 * @aws-sdk/credential-provider-http.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { describe, expect, it, onTestFinished } from 'vitest';
import type { LocalFunction } from '@custom-runtime/local';
import { sha256, startWorld, type World } from './fixtures/world.js';

interface Credentials {
  accessKeyId: string;
}

/** The container credentials endpoint: serves whatever `current` holds, and counts requests. */
async function startCredentialsEndpoint(current: Credentials, token: string): Promise<{ url: string; requests: () => number }> {
  let requests = 0;
  const server = http.createServer((req, res) => {
    requests++;
    if (req.headers.authorization !== token) {
      res.writeHead(403).end();
      return;
    }
    const body = JSON.stringify({
      AccessKeyId: current.accessKeyId,
      SecretAccessKey: `secret-of-${current.accessKeyId}`,
      Token: `token-of-${current.accessKeyId}`,
      Expiration: new Date(Date.now() + 6 * 3600_000).toISOString(),
    });
    res.writeHead(200, { 'content-type': 'application/json' }).end(body);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  onTestFinished(() => new Promise<void>((resolve) => server.close(() => resolve())));
  const { port } = server.address() as AddressInfo;
  return { url: `http://127.0.0.1:${port}/v1/credentials`, requests: () => requests };
}

interface SeenCall {
  readonly operation: string;
  readonly accessKeyId: string | undefined;
}

/**
 * A pass-through in front of the Secrets Manager stand-in that records which access key signed
 * each call (the stand-in records operations, not credentials).
 */
async function startSigningRecorder(target: string): Promise<{ url: string; calls: SeenCall[] }> {
  const calls: SeenCall[] = [];
  const server = http.createServer((req, res) => {
    calls.push({
      operation: String(req.headers['x-amz-target'] ?? '').split('.').pop() ?? '',
      accessKeyId: /Credential=([^/]+)\//.exec(req.headers.authorization ?? '')?.[1],
    });
    const upstream = http.request(`${target}${req.url ?? '/'}`, { method: req.method, headers: req.headers }, (answer) => {
      res.writeHead(answer.statusCode ?? 502, answer.headers);
      answer.pipe(res);
    });
    upstream.on('error', () => res.destroy());
    req.pipe(upstream);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  onTestFinished(() => {
    server.closeAllConnections();
    return new Promise<void>((resolve) => server.close(() => resolve()));
  });
  const { port } = server.address() as AddressInfo;
  return { url: `http://127.0.0.1:${port}`, calls };
}

interface Scene {
  readonly world: World;
  readonly fn: LocalFunction;
  readonly credentials: Credentials;
  readonly credentialRequests: () => number;
  readonly calls: SeenCall[];
  readonly apiSecret: string;
}

async function startSnapStartApp(handler: string): Promise<Scene> {
  const world = await startWorld();
  const api = world.sm.createSecret('snap/api', JSON.stringify({ apiKey: 'api-key-1' }));
  const db = world.sm.createSecret('snap/db', JSON.stringify({ username: 'admin', password: 'db-password-1' }));
  const credentials: Credentials = { accessKeyId: 'AKIDBEFORESNAPSHOT' };
  // The stand-in verifies signatures: it knows both identities the endpoint hands out.
  for (const accessKeyId of ['AKIDBEFORESNAPSHOT', 'AKIDAFTERRESTORE']) {
    world.sm.acceptCredentials({ accessKeyId, secretAccessKey: `secret-of-${accessKeyId}`, sessionToken: `token-of-${accessKeyId}` });
  }
  const token = 'container-token';
  const endpoint = await startCredentialsEndpoint(credentials, token);
  const recorder = await startSigningRecorder(world.sm.url);
  const fn = await world.start({
    handler,
    snapStart: true,
    env: {
      API_KEY_SECRET: api.name,
      DB_SECRET: db.name,
      AWS_ENDPOINT_URL_SECRETS_MANAGER: recorder.url,
      AWS_ACCESS_KEY_ID: undefined,
      AWS_SECRET_ACCESS_KEY: undefined,
      AWS_CONTAINER_CREDENTIALS_FULL_URI: endpoint.url,
      AWS_CONTAINER_AUTHORIZATION_TOKEN: token,
      // One attempt per call, so an injected fault is a failed refresh at once.
      AWS_MAX_ATTEMPTS: '1',
    },
  });
  return { world, fn, credentials, credentialRequests: endpoint.requests, calls: recorder.calls, apiSecret: api.name };
}

describe('config after a SnapStart restore', () => {
  it('serves the rotated secret, fetched with the new credentials, in one batch call before the first invocation', async () => {
    const scene = await startSnapStartApp('snapstart.handler');
    const { fn, world, calls } = scene;
    await fn.snapshot();
    expect(calls).toEqual([{ operation: 'BatchGetSecretValue', accessKeyId: 'AKIDBEFORESNAPSHOT' }]);
    expect(scene.credentialRequests()).toBe(1);

    // While snapshotted: the secret rotates, and a restored environment gets other credentials.
    world.sm.putSecretValue(scene.apiSecret, JSON.stringify({ apiKey: 'api-key-2' }));
    scene.credentials.accessKeyId = 'AKIDAFTERRESTORE';

    await fn.restore();
    await fn.runtimeApi.waitForPoll();
    // Refreshed during the restore, before the first /next was even answered.
    const afterRestore = calls.slice(1);
    expect(afterRestore).toEqual([{ operation: 'BatchGetSecretValue', accessKeyId: 'AKIDAFTERRESTORE' }]);
    expect(scene.credentialRequests()).toBe(2);

    const first = await fn.invoke({});
    expect(first.status, fn.logs()).toBe('success');
    expect(first.json()).toEqual({ apiKey: sha256('api-key-2'), dbPassword: sha256('db-password-1') });
    expect((await fn.invoke({})).json()).toEqual(first.json());
    expect(calls.slice(1)).toHaveLength(1);
    expect(fn.logs()).not.toMatch(/api-key-|db-password-/);
  });

  it('serves the values from before the snapshot when the refresh fails, within their max staleness, and says so', async () => {
    const scene = await startSnapStartApp('snapstart.handler');
    const { fn, world } = scene;
    await fn.snapshot();
    world.sm.putSecretValue(scene.apiSecret, JSON.stringify({ apiKey: 'api-key-2' }));
    world.sm.injectFault({ operation: 'BatchGetSecretValue', kind: 'server-error' });

    await fn.restore();
    const result = await fn.invoke({});
    expect(result.status, fn.logs()).toBe('success');
    expect(result.json()).toEqual({ apiKey: sha256('api-key-1'), dbPassword: sha256('db-password-1') });
    expect(fn.logs()).toMatch(/secretsmanager "snap\/api": refresh failed .*serving the value fetched \d+s ago/);
    expect(fn.logs()).toMatch(
      /after the SnapStart restore, 2 value\(s\) could not be fetched and are served as fetched before the snapshot/,
    );
    expect(fn.logs()).not.toMatch(/api-key-|db-password-/);
  });

  it('with refreshAfterRestore: false, fetches nothing during the restore and fresh values on first use', async () => {
    const scene = await startSnapStartApp('snapstart-lazy.handler');
    const { fn, world, calls } = scene;
    await fn.snapshot();
    expect(calls).toHaveLength(1);
    world.sm.putSecretValue(scene.apiSecret, JSON.stringify({ apiKey: 'api-key-2' }));
    scene.credentials.accessKeyId = 'AKIDAFTERRESTORE';

    await fn.restore();
    await fn.runtimeApi.waitForPoll();
    expect(calls).toHaveLength(1);

    const first = await fn.invoke({});
    expect(first.status, fn.logs()).toBe('success');
    expect(first.json()).toEqual({ apiKey: sha256('api-key-2'), dbPassword: sha256('db-password-1') });
    expect(calls.slice(1)).toEqual([{ operation: 'BatchGetSecretValue', accessKeyId: 'AKIDAFTERRESTORE' }]);
  });

  it('without snap-start, the same handler fetches once during init and nothing at all is refreshed', async () => {
    const world = await startWorld();
    const api = world.sm.createSecret('snap/api', JSON.stringify({ apiKey: 'api-key-1' }));
    const db = world.sm.createSecret('snap/db', JSON.stringify({ username: 'admin', password: 'db-password-1' }));
    const fn = await world.start({ handler: 'snapstart.handler', env: { API_KEY_SECRET: api.name, DB_SECRET: db.name } });
    const result = await fn.invoke({});
    expect(result.status, fn.logs()).toBe('success');
    expect(result.json()).toEqual({ apiKey: sha256('api-key-1'), dbPassword: sha256('db-password-1') });
    expect(world.sm.calls.map((c) => c.operation)).toEqual(['BatchGetSecretValue']);
    expect(fn.runtimeApi.requests.some((r) => r.path.includes('/restore/'))).toBe(false);
  });
});
