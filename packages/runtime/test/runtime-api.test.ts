import { once } from 'node:events';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, expectTypeOf, it } from 'vitest';
import { createContext, type ContextHeaders } from '../src/context.js';
import { HttpClientError } from '../src/http-client.js';
import { RuntimeApiClient, RuntimeApiError, type ErrorResponse, type Invocation } from '../src/runtime-api.js';

interface Seen {
  readonly method: string;
  readonly url: string;
  readonly headers: http.IncomingHttpHeaders;
  readonly body: Buffer;
  readonly trailers: NodeJS.Dict<string>;
}

interface Reply {
  status?: number;
  headers?: Record<string, string>;
  body?: string | Buffer;
}

/**
 * A minimal Runtime API stand-in: records every request; `/next` and posts answer what the
 * test queued, or 200 / 202 by default.
 */
async function fakeRuntimeApi(replies: { next?: Reply[]; post?: Reply[] } = {}): Promise<{
  address: string;
  seen: Seen[];
  connections(): number;
}> {
  const seen: Seen[] = [];
  let connections = 0;
  const server = http.createServer((req, res) => {
    const parts: Buffer[] = [];
    req.on('data', (c: Buffer) => parts.push(c));
    req.on('end', () => {
      seen.push({
        method: req.method ?? '',
        url: req.url ?? '',
        headers: req.headers,
        body: Buffer.concat(parts),
        trailers: req.trailers,
      });
      const isNext = req.url?.endsWith('/invocation/next') === true;
      const reply = (isNext ? replies.next : replies.post)?.shift() ?? {};
      res.writeHead(reply.status ?? (isNext ? 200 : 202), reply.headers);
      res.end(reply.body ?? (isNext ? '{}' : '{"status":"OK"}'));
    });
  });
  server.on('connection', () => connections++);
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  cleanups.push(
    () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  );
  return { address: `127.0.0.1:${(server.address() as AddressInfo).port}`, seen, connections: () => connections };
}

const cleanups: Array<() => unknown> = [];
afterEach(async () => {
  for (const fn of cleanups.splice(0).reverse()) await fn();
});

function client(address: string): RuntimeApiClient {
  const c = new RuntimeApiClient(address);
  cleanups.push(() => c.close());
  return c;
}

const ALL_HEADERS = {
  'Lambda-Runtime-Aws-Request-Id': '8476a536-e9f4-11e8-9739-2dfe598c3fcd',
  'Lambda-Runtime-Deadline-Ms': '1542409706888',
  'Lambda-Runtime-Invoked-Function-Arn': 'arn:aws:lambda:us-east-2:123456789012:function:custom-runtime',
  'Lambda-Runtime-Trace-Id': 'Root=1-5bef4de7-ad49b0e87f6ef6c87fc2e700;Parent=9a9197af755a6419;Sampled=1',
  'Lambda-Runtime-Client-Context': '{"client":{"app_title":"t"},"custom":{"k":"v"},"env":{}}',
  'Lambda-Runtime-Cognito-Identity': '{"cognitoIdentityId":"id","cognitoIdentityPoolId":"pool"}',
  'Lambda-Runtime-Aws-Tenant-Id': 'tenant-7',
  'Lambda-Runtime-Invocation-Id': 'inv-123',
};

const MINIMAL_HEADERS = {
  'Lambda-Runtime-Aws-Request-Id': 'req-1',
  'Lambda-Runtime-Deadline-Ms': '1700000000000',
  'Lambda-Runtime-Invoked-Function-Arn': 'arn:aws:lambda:eu-west-1:123456789012:function:f',
};

const boom: ErrorResponse = { errorMessage: 'it broke', errorType: 'TypeError', stackTrace: ['at a (a.js:1:1)', 'at b (b.js:2:2)'] };

describe('next()', () => {
  it('maps every /next header and the body', async () => {
    const { address, seen } = await fakeRuntimeApi({ next: [{ headers: ALL_HEADERS, body: '{"hello":"world"}' }] });
    const inv = await client(address).next();
    expect(inv).toEqual({
      requestId: '8476a536-e9f4-11e8-9739-2dfe598c3fcd',
      deadlineMs: 1542409706888,
      invokedFunctionArn: 'arn:aws:lambda:us-east-2:123456789012:function:custom-runtime',
      traceId: 'Root=1-5bef4de7-ad49b0e87f6ef6c87fc2e700;Parent=9a9197af755a6419;Sampled=1',
      clientContext: '{"client":{"app_title":"t"},"custom":{"k":"v"},"env":{}}',
      cognitoIdentity: '{"cognitoIdentityId":"id","cognitoIdentityPoolId":"pool"}',
      tenantId: 'tenant-7',
      invocationId: 'inv-123',
      body: Buffer.from('{"hello":"world"}'),
    });
    expect(seen[0]).toMatchObject({ method: 'GET', url: '/2018-06-01/runtime/invocation/next' });
  });

  it('leaves optional headers undefined', async () => {
    const { address } = await fakeRuntimeApi({ next: [{ headers: MINIMAL_HEADERS }] });
    const inv = await client(address).next();
    expect(inv).toMatchObject({ requestId: 'req-1', deadlineMs: 1700000000000 });
    for (const key of ['traceId', 'clientContext', 'cognitoIdentity', 'tenantId', 'invocationId'] as const) {
      expect(inv[key]).toBeUndefined();
    }
  });

  it('gives an Invocation usable as the context headers', async () => {
    expectTypeOf<Invocation>().toMatchTypeOf<ContextHeaders>();
    const { address } = await fakeRuntimeApi({ next: [{ headers: ALL_HEADERS }] });
    const inv = await client(address).next();
    const headers: ContextHeaders = inv;
    const ctx = createContext(headers, {
      functionName: 'f',
      functionVersion: '$LATEST',
      memoryLimitInMB: '128',
      logGroupName: 'g',
      logStreamName: 's',
    });
    expect(ctx.awsRequestId).toBe(inv.requestId);
    expect(ctx.tenantId).toBe('tenant-7');
    expect(ctx.identity).toEqual({ cognitoIdentityId: 'id', cognitoIdentityPoolId: 'pool' });
  });

  it('throws RuntimeApiError with the status and body when /next is not 200', async () => {
    const { address } = await fakeRuntimeApi({ next: [{ status: 500, body: 'internal' }] });
    const err: unknown = await client(address).next().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RuntimeApiError);
    expect(err).toMatchObject({ status: 500, body: 'internal' });
  });

  it('throws RuntimeApiError when the request id is missing', async () => {
    const { address } = await fakeRuntimeApi({ next: [{ headers: { 'Lambda-Runtime-Deadline-Ms': '1' } }] });
    const err: unknown = await client(address).next().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RuntimeApiError);
    expect((err as RuntimeApiError).message).toMatch(/Lambda-Runtime-Aws-Request-Id/);
  });

  it('throws RuntimeApiError when the deadline is missing or not a number', async () => {
    const { address } = await fakeRuntimeApi({
      next: [
        { headers: { 'Lambda-Runtime-Aws-Request-Id': 'r' } },
        { headers: { 'Lambda-Runtime-Aws-Request-Id': 'r', 'Lambda-Runtime-Deadline-Ms': 'soon' } },
      ],
    });
    const c = client(address);
    await expect(c.next()).rejects.toBeInstanceOf(RuntimeApiError);
    await expect(c.next()).rejects.toBeInstanceOf(RuntimeApiError);
  });

  it('rejects with the HTTP client error when the Runtime API is unreachable', async () => {
    const { address } = await fakeRuntimeApi();
    const port = Number(address.split(':')[1]);
    // Close the stand-in first so nothing listens on the port.
    for (const fn of cleanups.splice(0)) await fn();
    const err: unknown = await client(`127.0.0.1:${port}`).next().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(HttpClientError);
    expect((err as HttpClientError).code).toBe('CONNECT_FAILED');
  });

  it('uses one connection for the whole loop', async () => {
    const { address, connections } = await fakeRuntimeApi({
      next: Array.from({ length: 20 }, (_, i) => ({ headers: { ...MINIMAL_HEADERS, 'Lambda-Runtime-Aws-Request-Id': `r${i}` } })),
    });
    const c = client(address);
    const seenIds: string[] = [];
    for (let i = 0; i < 20; i++) {
      const inv = await c.next();
      seenIds.push(inv.requestId);
      expect((await c.postResponse(inv, `"${i}"`)).status).toBe(202);
    }
    expect(seenIds).toEqual(Array.from({ length: 20 }, (_, i) => `r${i}`));
    expect(connections()).toBe(1);
  });
});

async function invocation(headers: Record<string, string> = ALL_HEADERS): Promise<{
  c: RuntimeApiClient;
  inv: Invocation;
  seen: Seen[];
  replies: { post: Reply[] };
}> {
  const replies = { next: [{ headers }], post: [] as Reply[] };
  const { address, seen } = await fakeRuntimeApi(replies);
  const c = client(address);
  const inv = await c.next();
  return { c, inv, seen, replies };
}

describe('postResponse()', () => {
  it('posts the body to /invocation/{id}/response and echoes the invocation id', async () => {
    const { c, inv, seen } = await invocation();
    const out = await c.postResponse(inv, '{"ok":true}');
    expect(out).toEqual({ status: 202, body: '{"status":"OK"}' });
    const post = seen[1];
    expect(post).toMatchObject({ method: 'POST', url: `/2018-06-01/runtime/invocation/${inv.requestId}/response` });
    expect(post?.body.toString()).toBe('{"ok":true}');
    expect(post?.headers['lambda-runtime-invocation-id']).toBe('inv-123');
    expect(post?.headers['content-length']).toBe('11');
  });

  it('sends bytes as they are and no invocation id when none was given', async () => {
    const { c, inv, seen } = await invocation(MINIMAL_HEADERS);
    const bytes = Uint8Array.from([0, 1, 2, 255]);
    await c.postResponse(inv, bytes);
    expect(seen[1]?.body).toEqual(Buffer.from(bytes));
    expect(seen[1]?.headers['lambda-runtime-invocation-id']).toBeUndefined();
  });

  it.each([400, 403, 410, 413, 500])('returns status %i as data', async (status) => {
    const { c, inv, replies } = await invocation();
    replies.post.push({ status, body: `{"errorMessage":"status ${status}"}` });
    const out = await c.postResponse(inv, 'x');
    expect(out).toEqual({ status, body: `{"errorMessage":"status ${status}"}` });
  });

  it('does not put the posted body in errors', async () => {
    const { c, inv } = await invocation();
    c.close();
    const err: unknown = await c.postResponse(inv, 'secret-token-123').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(HttpClientError);
    expect(JSON.stringify({ message: (err as Error).message, stack: (err as Error).stack })).not.toContain('secret-token-123');
  });
});

describe('postError() and postInitError()', () => {
  it('posts the ErrorResponse as JSON with the error type header', async () => {
    const { c, inv, seen } = await invocation();
    const extra = { ...boom, secretField: 'x' } as ErrorResponse;
    const out = await c.postError(inv, extra, 'Function.TypeError');
    expect(out.status).toBe(202);
    const post = seen[1];
    expect(post).toMatchObject({ method: 'POST', url: `/2018-06-01/runtime/invocation/${inv.requestId}/error` });
    expect(post?.headers['content-type']).toBe('application/json');
    expect(post?.headers['lambda-runtime-function-error-type']).toBe('Function.TypeError');
    expect(post?.headers['lambda-runtime-invocation-id']).toBe('inv-123');
    expect(JSON.parse(post?.body.toString() ?? '')).toEqual(boom);
  });

  it('keeps a user-chosen error type from breaking the header', async () => {
    const { c, inv, seen } = await invocation();
    await c.postError(inv, boom, 'Function.Bad\r\nX-Injected: 1');
    expect(seen[1]?.headers['lambda-runtime-function-error-type']).toBe('Function.Bad__X-Injected:_1');
    expect(seen[1]?.headers['x-injected']).toBeUndefined();
  });

  it('returns error statuses as data', async () => {
    const { c, inv, replies } = await invocation();
    replies.post.push({ status: 413, body: 'too big' });
    expect(await c.postError(inv, boom, 'Function.TypeError')).toEqual({ status: 413, body: 'too big' });
  });

  it('posts init errors to /runtime/init/error', async () => {
    const { address, seen } = await fakeRuntimeApi({ post: [{ status: 202 }] });
    const out = await client(address).postInitError(
      { errorMessage: 'no such module', errorType: 'Runtime.ImportModuleError', stackTrace: [] },
      'Runtime.ImportModuleError',
    );
    expect(out.status).toBe(202);
    expect(seen[0]).toMatchObject({ method: 'POST', url: '/2018-06-01/runtime/init/error' });
    expect(seen[0]?.headers['lambda-runtime-function-error-type']).toBe('Runtime.ImportModuleError');
    expect(seen[0]?.headers['content-type']).toBe('application/json');
    expect(JSON.parse(seen[0]?.body.toString() ?? '')).toEqual({
      errorMessage: 'no such module',
      errorType: 'Runtime.ImportModuleError',
      stackTrace: [],
    });
  });
});

// SnapStart endpoints, as aws-lambda-python-runtime-interface-client awslambdaric/lambda_runtime_client.py
// (commit 3b6a82f) calls them: `restore_next` expects 200, `report_restore_error` 202.
describe('restoreNext() and postRestoreError()', () => {
  it('waits on GET /runtime/restore/next and resolves on 200', async () => {
    const { address, seen } = await fakeRuntimeApi({ post: [{ status: 200, body: '' }] });
    await client(address).restoreNext();
    expect(seen[0]).toMatchObject({ method: 'GET', url: '/2018-06-01/runtime/restore/next' });
  });

  it('throws RuntimeApiError on another status', async () => {
    const { address } = await fakeRuntimeApi({ post: [{ status: 403, body: '{"errorType":"InvalidStateTransition"}' }] });
    const err = await client(address).restoreNext().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RuntimeApiError);
    expect(err).toMatchObject({ status: 403, message: '/restore/next answered 403' });
  });

  it('posts the restore error to /runtime/restore/error with its type header', async () => {
    const { address, seen } = await fakeRuntimeApi();
    const out = await client(address).postRestoreError(boom, 'Runtime.AfterRestoreError');
    expect(out.status).toBe(202);
    expect(seen[0]).toMatchObject({ method: 'POST', url: '/2018-06-01/runtime/restore/error' });
    expect(seen[0]?.headers['lambda-runtime-function-error-type']).toBe('Runtime.AfterRestoreError');
    expect(JSON.parse(seen[0]?.body.toString() ?? '')).toEqual(boom);
  });
});

describe('streamResponse()', () => {
  it('streams chunks with the streaming headers and no error trailers', async () => {
    const { c, inv, seen } = await invocation();
    const s = c.streamResponse(inv, 'application/vnd.awslambda.http-integration-response');
    await s.write(Buffer.from('{"statusCode":200}'));
    await s.write(new Uint8Array(8));
    await s.write(Buffer.from('body'));
    const out = await s.end();
    expect(out.status).toBe(202);
    const post = seen[1];
    expect(post).toMatchObject({ method: 'POST', url: `/2018-06-01/runtime/invocation/${inv.requestId}/response` });
    expect(post?.headers).toMatchObject({
      'lambda-runtime-function-response-mode': 'streaming',
      'transfer-encoding': 'chunked',
      'content-type': 'application/vnd.awslambda.http-integration-response',
      trailer: 'Lambda-Runtime-Function-Error-Type, Lambda-Runtime-Function-Error-Body',
      'lambda-runtime-invocation-id': 'inv-123',
    });
    expect(post?.body).toEqual(Buffer.concat([Buffer.from('{"statusCode":200}'), Buffer.alloc(8), Buffer.from('body')]));
    expect(post?.trailers).toEqual({});
  });

  it('reports a mid-stream error in the trailers', async () => {
    const { c, inv, seen } = await invocation();
    const s = c.streamResponse(inv, 'text/plain');
    await s.write(Buffer.from('partial'));
    const out = await s.end({ errorTypeHeader: 'Function.TypeError', body: boom });
    expect(out.status).toBe(202);
    const trailers = seen[1]?.trailers ?? {};
    expect(trailers['lambda-runtime-function-error-type']).toBe('Function.TypeError');
    const decoded: unknown = JSON.parse(Buffer.from(trailers['lambda-runtime-function-error-body'] ?? '', 'base64').toString());
    expect(decoded).toEqual(boom);
    expect(seen[1]?.body.toString()).toBe('partial');
  });

  it('can end with an error before any chunk', async () => {
    const { c, inv, seen } = await invocation();
    const out = await c.streamResponse(inv, 'text/plain').end({ errorTypeHeader: 'Function.Error', body: boom });
    expect(out.status).toBe(202);
    expect(seen[1]?.body.length).toBe(0);
    expect(seen[1]?.trailers['lambda-runtime-function-error-type']).toBe('Function.Error');
  });

  it('keeps a content type from breaking the head', async () => {
    const { c, inv, seen } = await invocation();
    await c.streamResponse(inv, 'text/plain; charset=utf-8\r\nX-Injected: ü').end();
    expect(seen[1]?.headers['content-type']).toBe('text/plain; charset=utf-8__X-Injected: _');
    expect(seen[1]?.headers['x-injected']).toBeUndefined();
  });

  it('returns a rejection status as data', async () => {
    const { c, inv, replies } = await invocation();
    replies.post.push({ status: 403, body: 'forbidden' });
    const s = c.streamResponse(inv, 'text/plain');
    await s.write(Buffer.from('x'));
    expect(await s.end()).toEqual({ status: 403, body: 'forbidden' });
  });

  it('leaves the connection usable for the next invocation', async () => {
    const replies = { next: [{ headers: ALL_HEADERS }, { headers: MINIMAL_HEADERS }] };
    const { address } = await fakeRuntimeApi(replies);
    const c = client(address);
    const first = await c.next();
    const s = c.streamResponse(first, 'text/plain');
    await s.write(Buffer.from('a'));
    await s.end();
    expect((await c.next()).requestId).toBe('req-1');
  });
});

describe('address', () => {
  it('accepts host:port and [v6]:port, refuses junk', () => {
    expect(() => new RuntimeApiClient('127.0.0.1:9001').close()).not.toThrow();
    expect(() => new RuntimeApiClient('[::1]:9001').close()).not.toThrow();
    expect(() => new RuntimeApiClient('localhost').close()).not.toThrow();
    expect(() => new RuntimeApiClient('127.0.0.1:')).toThrow(TypeError);
    expect(() => new RuntimeApiClient('127.0.0.1:99999')).toThrow(TypeError);
    expect(() => new RuntimeApiClient(':9001')).toThrow(TypeError);
  });
});
