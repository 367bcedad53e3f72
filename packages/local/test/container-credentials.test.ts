import { afterEach, describe, expect, it } from 'vitest';
import { startContainerCredentials, type ContainerCredentialsStandIn } from '../src/container-credentials.js';

const handedOut = { accessKeyId: 'AKIDCONTAINER', secretAccessKey: 'container-secret', sessionToken: 'container-session' };
let endpoint: ContainerCredentialsStandIn | undefined;

afterEach(async () => {
  await endpoint?.close();
  endpoint = undefined;
});

describe('container credentials stand-in', () => {
  // The shape @aws-sdk/credential-provider-http requires (dist-cjs/index.js getCredentials:
  // AccessKeyId, SecretAccessKey, Token and an RFC 3339 Expiration); the config package's tests
  // drive it through that provider.
  it('hands out {AccessKeyId, SecretAccessKey, Token, Expiration} after checking the token', async () => {
    endpoint = await startContainerCredentials({ credentials: handedOut, authorizationToken: 'token-1', expiresInMs: 3_600_000 });
    const before = Date.now();
    const res = await fetch(endpoint.url, { headers: { authorization: 'token-1' } });
    expect(res.status).toBe(200);
    const body = (await res.json()) as Record<string, string>;
    expect(body).toMatchObject({ AccessKeyId: 'AKIDCONTAINER', SecretAccessKey: 'container-secret', Token: 'container-session' });
    expect(Date.parse(body.Expiration!)).toBeGreaterThanOrEqual(before + 3_600_000 - 1_000);
    expect(endpoint.requestCount()).toBe(1);
  });

  it('refuses a wrong or missing token', async () => {
    endpoint = await startContainerCredentials({ credentials: handedOut, authorizationToken: 'token-1' });
    expect((await fetch(endpoint.url, { headers: { authorization: 'token-2' } })).status).toBe(403);
    expect((await fetch(endpoint.url)).status).toBe(403);
    expect(endpoint.requestCount()).toBe(2);
  });

  it('hands out the rotated credentials after setCredentials', async () => {
    endpoint = await startContainerCredentials({ credentials: handedOut });
    endpoint.setCredentials({ ...handedOut, accessKeyId: 'AKIDROTATED' });
    const body = (await (await fetch(endpoint.url)).json()) as { AccessKeyId: string; Token: string };
    expect(body).toMatchObject({ AccessKeyId: 'AKIDROTATED', Token: 'container-session' });
  });
});
