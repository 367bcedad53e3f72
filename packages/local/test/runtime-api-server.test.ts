import http, { type IncomingHttpHeaders } from 'node:http';
import { afterEach, describe, expect, it } from 'vitest';
import {
  DEFAULT_TIMEOUT_MS,
  MAX_RESPONSE_BYTES,
  MAX_STREAMED_RESPONSE_BYTES,
  startRuntimeApi,
  type ResponseChunk,
  type RuntimeApiServer,
  type RuntimeApiServerOptions,
} from '../src/runtime-api-server.js';

const NEXT = '/2018-06-01/runtime/invocation/next';
const INIT_ERROR = '/2018-06-01/runtime/init/error';
const REGISTER = '/2020-01-01/extension/register';
const EXTENSION_NEXT = '/2020-01-01/extension/event/next';
const RIE = '/2015-03-31/functions/function/invocations';

interface Reply {
  readonly status: number;
  readonly headers: IncomingHttpHeaders;
  readonly body: Buffer;
  text(): string;
  json(): unknown;
}

interface CallOptions {
  readonly headers?: Record<string, string>;
  readonly body?: string | Buffer;
}

/** One request on its own connection, the way a runtime would send it. */
function call(server: RuntimeApiServer, method: string, path: string, options: CallOptions = {}): Promise<Reply> {
  const [host, port] = server.address.split(':');
  return new Promise((resolve, reject) => {
    const req = http.request({ host, port: Number(port), method, path, headers: options.headers, agent: false }, (res) => {
      const parts: Buffer[] = [];
      res.on('data', (part: Buffer) => parts.push(part));
      res.on('end', () => resolve(reply(res.statusCode ?? 0, res.headers, Buffer.concat(parts))));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(options.body);
  });
}

function reply(status: number, headers: IncomingHttpHeaders, body: Buffer): Reply {
  return { status, headers, body, text: () => body.toString(), json: () => JSON.parse(body.toString()) as unknown };
}

const next = (server: RuntimeApiServer): Promise<Reply> => call(server, 'GET', NEXT);

const requestIdOf = (r: Reply): string => r.headers['lambda-runtime-aws-request-id'] as string;

function respond(server: RuntimeApiServer, id: string, body: string | Buffer, headers: Record<string, string> = {}) {
  return call(server, 'POST', `/2018-06-01/runtime/invocation/${id}/response`, { body, headers });
}

function postError(server: RuntimeApiServer, id: string, document: object, type?: string): Promise<Reply> {
  const headers: Record<string, string> = { 'Content-Type': 'application/json' };
  if (type !== undefined) headers['Lambda-Runtime-Function-Error-Type'] = type;
  return call(server, 'POST', `/2018-06-01/runtime/invocation/${id}/error`, { body: JSON.stringify(document), headers });
}

/**
 * Streams a response: strings are written as chunks, functions are awaited between writes, and
 * the trailers go after the last chunk.
 */
function stream(
  server: RuntimeApiServer,
  id: string,
  pieces: ReadonlyArray<string | Buffer | (() => Promise<unknown>)>,
  trailers?: Record<string, string>,
): Promise<Reply> {
  const [host, port] = server.address.split(':');
  return new Promise((resolve, reject) => {
    const req = http.request(
      {
        host,
        port: Number(port),
        method: 'POST',
        path: `/2018-06-01/runtime/invocation/${id}/response`,
        agent: false,
        headers: {
          'Lambda-Runtime-Function-Response-Mode': 'streaming',
          'Transfer-Encoding': 'chunked',
          'Content-Type': 'text/plain',
          Trailer: 'Lambda-Runtime-Function-Error-Type, Lambda-Runtime-Function-Error-Body',
        },
      },
      (res) => {
        const parts: Buffer[] = [];
        res.on('data', (part: Buffer) => parts.push(part));
        res.on('end', () => resolve(reply(res.statusCode ?? 0, res.headers, Buffer.concat(parts))));
      },
    );
    req.on('error', reject);
    void (async () => {
      for (const piece of pieces) {
        if (typeof piece === 'function') await piece();
        else req.write(piece);
      }
      if (trailers !== undefined) req.addTrailers(trailers);
      req.end();
    })();
  });
}

function deferred<T = void>(): { promise: Promise<T>; resolve: (value: T) => void } {
  let resolve!: (value: T) => void;
  const promise = new Promise<T>((r) => {
    resolve = r;
  });
  return { promise, resolve };
}

/** Lets pending I/O callbacks run, so a request that was going to be answered has been. */
const settle = (): Promise<void> => new Promise((resolve) => setTimeout(resolve, 20));

const servers: RuntimeApiServer[] = [];

async function start(options: RuntimeApiServerOptions = {}): Promise<RuntimeApiServer> {
  const server = await startRuntimeApi(options);
  servers.push(server);
  return server;
}

afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => s.close()));
});

describe('startRuntimeApi', () => {
  it('listens on 127.0.0.1 and gives the AWS_LAMBDA_RUNTIME_API value', async () => {
    const server = await start();
    expect(server.address).toMatch(/^127\.0\.0\.1:\d+$/);
    expect(server.url).toBe(`http://${server.address}`);
    expect(server.timeoutMs).toBe(DEFAULT_TIMEOUT_MS);
    expect(DEFAULT_TIMEOUT_MS).toBe(3000);
    expect(MAX_RESPONSE_BYTES).toBe(6 * 1024 * 1024 + 100);
    // "Response streaming for Lambda functions" (Lambda developer guide): payloads up to 200 MB.
    expect(MAX_STREAMED_RESPONSE_BYTES).toBe(200 * 1024 * 1024);
  });

  it('answers unknown paths with 404 and a wrong method with 405', async () => {
    const server = await start();
    const missing = await call(server, 'GET', '/2018-06-01/runtime/nothing');
    expect(missing.status).toBe(404);
    const wrongMethod = await call(server, 'POST', NEXT);
    expect(wrongMethod.status).toBe(405);
  });
});

describe('GET /runtime/invocation/next', () => {
  it('hands out the event with the Lambda headers', async () => {
    const server = await start({ functionName: 'orders', region: 'eu-west-1', timeoutMs: 10_000 });
    const done = server.invoke({ hello: 'world' }, {
      requestId: 'req-1',
      traceId: 'Root=1-abc;Parent=def;Sampled=1',
      clientContext: { custom: { a: 1 } },
      cognitoIdentity: { cognitoIdentityId: 'id', cognitoIdentityPoolId: 'pool' },
      tenantId: 'tenant-7',
      invocationId: 'inv-9',
    });
    const before = Date.now();
    const r = await next(server);
    const after = Date.now();

    expect(r.status).toBe(200);
    expect(r.headers['content-type']).toBe('application/json');
    expect(r.json()).toEqual({ hello: 'world' });
    expect(r.headers['lambda-runtime-aws-request-id']).toBe('req-1');
    expect(r.headers['lambda-runtime-invoked-function-arn']).toBe(
      'arn:aws:lambda:eu-west-1:123456789012:function:orders',
    );
    expect(r.headers['lambda-runtime-trace-id']).toBe('Root=1-abc;Parent=def;Sampled=1');
    expect(JSON.parse(r.headers['lambda-runtime-client-context'] as string)).toEqual({ custom: { a: 1 } });
    expect(JSON.parse(r.headers['lambda-runtime-cognito-identity'] as string)).toEqual({
      cognitoIdentityId: 'id',
      cognitoIdentityPoolId: 'pool',
    });
    expect(r.headers['lambda-runtime-aws-tenant-id']).toBe('tenant-7');
    expect(r.headers['lambda-runtime-invocation-id']).toBe('inv-9');
    const deadline = Number(r.headers['lambda-runtime-deadline-ms']);
    // The deadline is set when the event is handed out: between our two clock reads.
    expect(deadline).toBeGreaterThanOrEqual(before + 10_000);
    expect(deadline).toBeLessThanOrEqual(after + 10_000);

    await respond(server, 'req-1', '{}');
    await done;
  });

  it('leaves out optional headers, uses a UUID request id and the default ARN', async () => {
    const server = await start();
    void server.invoke({});
    const r = await next(server);
    expect(requestIdOf(r)).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(r.headers['lambda-runtime-invoked-function-arn']).toBe(
      'arn:aws:lambda:us-east-1:123456789012:function:local-function',
    );
    for (const name of [
      'lambda-runtime-trace-id',
      'lambda-runtime-client-context',
      'lambda-runtime-cognito-identity',
      'lambda-runtime-aws-tenant-id',
      'lambda-runtime-invocation-id',
    ]) {
      expect(r.headers[name], name).toBeUndefined();
    }
  });

  it('sends rawBody as is and strings given for JSON headers unchanged', async () => {
    const server = await start();
    void server.invoke({ ignored: true }, { rawBody: 'not json at all', clientContext: '{broken' });
    const r = await next(server);
    expect(r.text()).toBe('not json at all');
    expect(r.headers['lambda-runtime-client-context']).toBe('{broken');
    void server.invoke(null, { rawBody: new Uint8Array([0xff, 0x00, 0x41]) });
    expect([...(await next(server)).body]).toEqual([0xff, 0x00, 0x41]);
  });

  it('long-polls until an event is queued', async () => {
    const server = await start();
    let answered = false;
    const polling = next(server).then((r) => {
      answered = true;
      return r;
    });
    await server.waitForPoll();
    await settle();
    expect(answered).toBe(false);
    expect(server.waitingPolls).toBe(1);
    expect(server.pollCount).toBe(1);

    void server.invoke({ n: 1 });
    const r = await polling;
    expect(r.json()).toEqual({ n: 1 });
    expect(server.waitingPolls).toBe(0);
  });

  it('hands each queued event to exactly one of several waiting pollers, in order', async () => {
    const server = await start();
    const polls: Array<Promise<Reply>> = [];
    // One at a time, so the order in which the server saw them is known.
    for (let i = 1; i <= 3; i++) {
      polls.push(next(server));
      await server.waitForPoll(i);
    }
    const results = [1, 2, 3].map((n) => server.invoke({ n }));
    const replies = await Promise.all(polls);
    const events = replies.map((r) => (r.json() as { n: number }).n);
    expect(events).toEqual([1, 2, 3]);
    expect(new Set(replies.map(requestIdOf)).size).toBe(3);
    expect(server.queuedInvocations).toBe(0);

    await Promise.all(replies.map((r) => respond(server, requestIdOf(r), JSON.stringify((r.json() as { n: number }).n * 10))));
    const outcomes = await Promise.all(results);
    expect(outcomes.map((o) => o.json())).toEqual([10, 20, 30]);
  });

  it('queues events until a poller comes', async () => {
    const server = await start();
    const a = server.invoke('a');
    const b = server.invoke('b');
    expect(server.queuedInvocations).toBe(2);
    const first = await next(server);
    const second = await next(server);
    expect([first.json(), second.json()]).toEqual(['a', 'b']);
    await respond(server, requestIdOf(first), '"A"');
    await respond(server, requestIdOf(second), '"B"');
    expect((await a).json()).toBe('A');
    expect((await b).json()).toBe('B');
  });
});

describe('POST /runtime/invocation/{id}/response', () => {
  it('accepts a response with 202 and resolves the invocation', async () => {
    const server = await start();
    const done = server.invoke({ q: 1 });
    const id = requestIdOf(await next(server));
    const r = await respond(server, id, '{"answer":42}', { 'Content-Type': 'application/json', 'X-Extra': 'yes' });
    expect(r.status).toBe(202);
    expect(r.json()).toEqual({ status: 'OK' });

    const result = await done;
    expect(result.requestId).toBe(id);
    expect(result.status).toBe('success');
    expect(result.json()).toEqual({ answer: 42 });
    expect(result.text()).toBe('{"answer":42}');
    expect(result.streamed).toBe(false);
    expect(result.contentType).toBe('application/json');
    expect(result.headers['x-extra']).toBe('yes');
    expect(result.errorType).toBeUndefined();
    expect(result.durationMs).toBeGreaterThanOrEqual(0);
  });

  it('answers 400 InvalidRequestID for an id it never handed out', async () => {
    const server = await start();
    const unknown = await respond(server, 'no-such-id', '{}');
    expect(unknown.status).toBe(400);
    expect(unknown.json()).toMatchObject({ errorType: 'InvalidRequestID' });

    void server.invoke({}, { requestId: 'still-queued' });
    const queued = await respond(server, 'still-queued', '{}');
    expect(queued.status).toBe(400);
    const asError = await postError(server, 'nope', { errorType: 'X', errorMessage: 'y' });
    expect(asError.status).toBe(400);
    expect(asError.json()).toMatchObject({ errorType: 'InvalidRequestID' });
  });

  it('answers 403 InvalidStateTransition to a second post for the same id', async () => {
    const server = await start();
    const done = server.invoke({});
    const id = requestIdOf(await next(server));
    expect((await respond(server, id, '"first"')).status).toBe(202);

    const again = await respond(server, id, '"second"');
    expect(again.status).toBe(403);
    expect(again.json()).toMatchObject({ errorType: 'InvalidStateTransition' });
    const errorAfter = await postError(server, id, { errorType: 'E', errorMessage: 'm' });
    expect(errorAfter.status).toBe(403);
    expect((await done).json()).toBe('first');
  });

  it('answers 413 past 6 MiB + 100 bytes and fails the invocation with Function.ResponseSizeTooLarge', async () => {
    const server = await start();
    const done = server.invoke({});
    const id = requestIdOf(await next(server));
    const r = await respond(server, id, Buffer.alloc(MAX_RESPONSE_BYTES + 1, 0x61));
    expect(r.status).toBe(413);
    expect(r.json()).toMatchObject({ errorType: 'RequestEntityTooLarge' });

    const result = await done;
    expect(result.status).toBe('error');
    expect(result.errorType).toBe('Function.ResponseSizeTooLarge');
    expect(result.error?.errorType).toBe('Function.ResponseSizeTooLarge');
    expect(result.json()).toMatchObject({ errorType: 'Function.ResponseSizeTooLarge' });
    expect((await respond(server, id, '{}')).status).toBe(403);
  });

  it('accepts a response of exactly the limit', async () => {
    const server = await start();
    const done = server.invoke({});
    const id = requestIdOf(await next(server));
    const r = await respond(server, id, Buffer.alloc(MAX_RESPONSE_BYTES, 0x61));
    expect(r.status).toBe(202);
    const result = await done;
    expect(result.status).toBe('success');
    expect(result.body.length).toBe(MAX_RESPONSE_BYTES);
  });

  it('answers 413 to a chunked buffered body that grows past the limit', async () => {
    const server = await start({ maxResponseBytes: 1000 });
    const done = server.invoke({});
    const id = requestIdOf(await next(server));
    const [host, port] = server.address.split(':');
    const status = await new Promise<number>((resolve, reject) => {
      const req = http.request(
        { host, port: Number(port), method: 'POST', path: `/2018-06-01/runtime/invocation/${id}/response`, agent: false },
        (res) => {
          res.resume();
          resolve(res.statusCode ?? 0);
        },
      );
      req.on('error', reject);
      req.setHeader('Transfer-Encoding', 'chunked');
      req.write(Buffer.alloc(600));
      req.write(Buffer.alloc(600));
      req.end();
    });
    expect(status).toBe(413);
    expect((await done).errorType).toBe('Function.ResponseSizeTooLarge');
  });

  it('answers 400 to a response mode other than streaming and fails the invocation', async () => {
    const server = await start();
    const done = server.invoke({});
    const id = requestIdOf(await next(server));
    const r = await respond(server, id, 'x', { 'Lambda-Runtime-Function-Response-Mode': 'buffered' });
    expect(r.status).toBe(400);
    expect(r.json()).toMatchObject({ errorType: 'InvalidFunctionResponseMode' });
    const result = await done;
    expect(result.status).toBe('error');
    expect(result.errorType).toBe('Runtime.InvalidResponseModeHeader');
  });

  it('leaves an invocation open past its deadline with enforceTimeout: false (Managed Instances)', async () => {
    const server = await start();
    const done = server.invoke({}, { requestId: 'mi', timeoutMs: 30, enforceTimeout: false });
    const r = await next(server);
    expect(Number(r.headers['lambda-runtime-deadline-ms'])).toBeLessThanOrEqual(Date.now() + 30);
    await new Promise((resolve) => setTimeout(resolve, 60));
    expect((await respond(server, 'mi', '"late but accepted"')).status).toBe(202);
    expect((await done).json()).toBe('late but accepted');
  });

  it('sends header values as UTF-8, and headerBytes as the exact bytes', async () => {
    const server = await start();
    void server.invoke({}, {
      clientContext: { custom: { greeting: 'Café ⚡' } },
      headerBytes: { 'Lambda-Runtime-Invocation-Id': Uint8Array.from([0x69, 0xff]) },
    });
    const r = await next(server);
    // Node decodes received headers as latin1, one char per byte.
    expect(Buffer.from(r.headers['lambda-runtime-client-context'] as string, 'latin1').toString('utf8')).toBe(
      '{"custom":{"greeting":"Café ⚡"}}',
    );
    expect(Buffer.from(r.headers['lambda-runtime-invocation-id'] as string, 'latin1')).toEqual(Buffer.from([0x69, 0xff]));
  });

  it('ends the invocation as a timeout after its deadline and answers 410 to a late post', async () => {
    const server = await start({ timeoutMs: 60_000 });
    const done = server.invoke({}, { timeoutMs: 50 });
    const r = await next(server);
    const result = await done;
    expect(result.status).toBe('timeout');
    expect(result.errorType).toBe('Sandbox.Timedout');
    expect(result.error?.errorMessage).toBe(`RequestId: ${requestIdOf(r)} Error: Task timed out after 0.05 seconds`);
    const late = await respond(server, requestIdOf(r), '{}');
    expect(late.status).toBe(410);
    expect(late.json()).toMatchObject({ errorType: 'InvokeTimeout' });
  });
});

describe('POST /runtime/invocation/{id}/error', () => {
  it('records the error type header and the error document', async () => {
    const server = await start();
    const done = server.invoke({});
    const id = requestIdOf(await next(server));
    const document = { errorType: 'TypeError', errorMessage: 'boom', stackTrace: ['at a', 'at b'] };
    const r = await postError(server, id, document, 'Function.TypeError');
    expect(r.status).toBe(202);
    expect(r.json()).toEqual({ status: 'OK' });

    const result = await done;
    expect(result.status).toBe('error');
    expect(result.errorType).toBe('Function.TypeError');
    expect(result.error).toEqual(document);
    expect(result.json()).toEqual(document);
    expect(result.headers['lambda-runtime-function-error-type']).toBe('Function.TypeError');
  });

  it('falls back to the document type without the header, and keeps a non-JSON body', async () => {
    const server = await start();
    const first = server.invoke({});
    const id1 = requestIdOf(await next(server));
    await postError(server, id1, { errorType: 'RangeError', errorMessage: 'r' });
    expect((await first).errorType).toBe('RangeError');

    const second = server.invoke({});
    const id2 = requestIdOf(await next(server));
    await call(server, 'POST', `/2018-06-01/runtime/invocation/${id2}/error`, { body: 'plain text' });
    const result = await second;
    expect(result.status).toBe('error');
    expect(result.errorType).toBe('Unhandled');
    expect(result.error).toBeUndefined();
    expect(result.text()).toBe('plain text');
  });
});

describe('streaming responses', () => {
  it('collects chunks as they arrive', async () => {
    const server = await start();
    const firstChunk = deferred<ResponseChunk>();
    const seen: string[] = [];
    const done = server.invoke({}, {
      onChunk: (chunk) => {
        seen.push(chunk.data.toString());
        if (seen.length === 1) firstChunk.resolve(chunk);
      },
    });
    const id = requestIdOf(await next(server));
    // The second chunk is only written once the server has reported the first one.
    const r = await stream(server, id, ['hello ', () => firstChunk.promise, 'world']);
    expect(r.status).toBe(202);

    const result = await done;
    expect(result.status).toBe('success');
    expect(result.streamed).toBe(true);
    expect(result.text()).toBe('hello world');
    expect(result.contentType).toBe('text/plain');
    expect(result.chunks?.map((c) => c.data.toString())).toEqual(['hello ', 'world']);
    const [a, b] = result.chunks ?? [];
    expect(b!.receivedAt).toBeGreaterThanOrEqual(a!.receivedAt);
    expect(seen).toEqual(['hello ', 'world']);
  });

  it('reads the error trailers', async () => {
    const server = await start();
    const done = server.invoke({});
    const id = requestIdOf(await next(server));
    const document = { errorType: 'Error', errorMessage: 'midway', stackTrace: [] };
    const r = await stream(server, id, ['partial'], {
      'Lambda-Runtime-Function-Error-Type': 'Function.Error',
      'Lambda-Runtime-Function-Error-Body': Buffer.from(JSON.stringify(document)).toString('base64'),
    });
    expect(r.status).toBe(202);

    const result = await done;
    expect(result.status).toBe('error');
    expect(result.streamed).toBe(true);
    expect(result.text()).toBe('partial');
    expect(result.errorType).toBe('Function.Error');
    expect(result.error).toEqual(document);
    expect(result.trailers?.['lambda-runtime-function-error-type']).toBe('Function.Error');
  });

  it('answers 413 past the streaming limit', async () => {
    const server = await start({ maxStreamedResponseBytes: 10 });
    const done = server.invoke({});
    const id = requestIdOf(await next(server));
    const r = await stream(server, id, ['12345', '67890', 'x']);
    expect(r.status).toBe(413);
    const result = await done;
    expect(result.status).toBe('error');
    expect(result.errorType).toBe('Function.ResponseSizeTooLarge');
    expect(result.streamed).toBe(true);
  });

  it('streams past the buffered limit', async () => {
    const server = await start({ maxResponseBytes: 10 });
    const done = server.invoke({});
    const id = requestIdOf(await next(server));
    expect((await stream(server, id, ['0123456789', 'abcdef'])).status).toBe(202);
    expect((await done).text()).toBe('0123456789abcdef');
  });
});

describe('POST /runtime/init/error', () => {
  it('records the init error and fails queued and later invocations with it', async () => {
    const server = await start();
    const queued = server.invoke({ early: true });
    const waiting = server.waitForInitError();
    const document = { errorType: 'Runtime.ImportModuleError', errorMessage: 'cannot find module', stackTrace: [] };
    const r = await call(server, 'POST', INIT_ERROR, {
      body: JSON.stringify(document),
      headers: { 'Lambda-Runtime-Function-Error-Type': 'Runtime.ImportModuleError' },
    });
    expect(r.status).toBe(202);
    expect(r.json()).toEqual({ status: 'OK' });

    const initError = await waiting;
    expect(initError.errorType).toBe('Runtime.ImportModuleError');
    expect(initError.error).toEqual(document);
    expect(server.initError).toBe(initError);

    const early = await queued;
    expect(early.status).toBe('init-error');
    expect(early.errorType).toBe('Runtime.ImportModuleError');
    expect(early.json()).toEqual(document);
    const later = await server.invoke({ late: true });
    expect(later.status).toBe('init-error');
    expect(later.error).toEqual(document);
    expect(server.queuedInvocations).toBe(0);

    const again = await call(server, 'POST', INIT_ERROR, { body: '{}' });
    expect(again.status).toBe(403);
  });
});

describe('extensions API', () => {
  async function register(server: RuntimeApiServer, name: string, events: string[]) {
    const r = await call(server, 'POST', REGISTER, {
      headers: { 'Lambda-Extension-Name': name, 'Content-Type': 'application/json' },
      body: JSON.stringify({ events }),
    });
    return { reply: r, id: r.headers['lambda-extension-identifier'] as string };
  }

  it('registers an extension and answers with the function details', async () => {
    const server = await start({ functionName: 'fn', handler: 'index.handler' });
    const waiting = server.waitForExtensions();
    const { reply: r, id } = await register(server, 'shutdown-hooks', ['SHUTDOWN']);
    expect(r.status).toBe(200);
    expect(id).toMatch(/^[0-9a-f-]{36}$/);
    expect(r.json()).toEqual({ functionName: 'fn', functionVersion: '$LATEST', handler: 'index.handler' });
    await waiting;
    expect(server.extensions).toEqual([
      { name: 'shutdown-hooks', id, events: ['SHUTDOWN'], registeredAt: expect.any(Number) },
    ]);
  });

  it('refuses a registration without a name or with an unknown event', async () => {
    const server = await start();
    const noName = await call(server, 'POST', REGISTER, { body: '{"events":[]}' });
    expect(noName.status).toBe(403);
    expect(noName.json()).toMatchObject({ errorType: 'Extension.MissingHeader' });
    const badEvent = await register(server, 'x', ['REBOOT']);
    expect(badEvent.reply.status).toBe(403);
    expect(badEvent.reply.json()).toMatchObject({ errorType: 'Extension.InvalidEventType' });
    expect(server.extensions).toEqual([]);
  });

  it('answers 403 to an event poll from an unknown extension', async () => {
    const server = await start();
    const r = await call(server, 'GET', EXTENSION_NEXT, {
      headers: { 'Lambda-Extension-Identifier': '00000000-0000-4000-8000-000000000000' },
    });
    expect(r.status).toBe(403);
    expect(r.json()).toMatchObject({ errorType: 'Extension.UnknownExtensionIdentifier' });
  });

  it('long-polls events and sends SHUTDOWN to subscribers only', async () => {
    const server = await start();
    const subscriber = await register(server, 'sub', ['SHUTDOWN']);
    const bystander = await register(server, 'by', []);
    let bystanderAnswered = false;
    void call(server, 'GET', EXTENSION_NEXT, { headers: { 'Lambda-Extension-Identifier': bystander.id } })
      .then(() => {
        bystanderAnswered = true;
      })
      .catch(() => {});
    let answered = false;
    const polling = call(server, 'GET', EXTENSION_NEXT, {
      headers: { 'Lambda-Extension-Identifier': subscriber.id },
    }).then((r) => {
      answered = true;
      return r;
    });
    await settle();
    expect(answered).toBe(false);

    const deadlineMs = Date.now() + 500;
    expect(server.shutdown({ deadlineMs })).toBe(1);
    const event = await polling;
    expect(event.status).toBe(200);
    expect(event.headers['lambda-extension-event-identifier']).toBeDefined();
    expect(event.json()).toEqual({ eventType: 'SHUTDOWN', shutdownReason: 'spindown', deadlineMs });
    await settle();
    expect(bystanderAnswered).toBe(false);
  });

  it('accepts extension init and exit errors from a registered extension only', async () => {
    const server = await start();
    const ext = await register(server, 'failing', []);
    for (const phase of ['init', 'exit']) {
      const path = `/2020-01-01/extension/${phase}/error`;
      const body = '{"errorType":"Extension.Crash","errorMessage":"x"}';
      const ok = await call(server, 'POST', path, { headers: { 'Lambda-Extension-Identifier': ext.id }, body });
      expect(ok.status).toBe(202);
      const stranger = await call(server, 'POST', path, { body });
      expect(stranger.status).toBe(403);
    }
  });

  it('sends INVOKE events to extensions that subscribed to them', async () => {
    const server = await start();
    const ext = await register(server, 'inv', ['INVOKE']);
    void server.invoke({}, { requestId: 'r-1', traceId: 'Root=1-x' });
    await next(server);
    const event = await call(server, 'GET', EXTENSION_NEXT, { headers: { 'Lambda-Extension-Identifier': ext.id } });
    expect(event.json()).toMatchObject({
      eventType: 'INVOKE',
      requestId: 'r-1',
      invokedFunctionArn: server.functionArn,
      tracing: { type: 'X-Amzn-Trace-Id', value: 'Root=1-x' },
      deadlineMs: expect.any(Number),
    });
  });
});

describe('RIE invoke endpoint', () => {
  /** Plays the runtime once: takes the next event and answers it with `answer`. */
  async function runtimeOnce(server: RuntimeApiServer, answer: (event: Reply) => Promise<unknown>): Promise<Reply> {
    const event = await next(server);
    await answer(event);
    return event;
  }

  it('returns the function response', async () => {
    const server = await start();
    const runtime = runtimeOnce(server, (e) =>
      respond(server, requestIdOf(e), JSON.stringify({ got: e.json() }), { 'Content-Type': 'application/json' }),
    );
    const r = await call(server, 'POST', RIE, { body: '{"ping":1}' });
    expect(r.status).toBe(200);
    expect(r.json()).toEqual({ got: { ping: 1 } });
    expect(r.headers['content-type']).toBe('application/json');
    expect(r.headers['x-amz-function-error']).toBeUndefined();
    await runtime;
  });

  it('returns a function error as 200 with X-Amz-Function-Error: Unhandled', async () => {
    const server = await start();
    const document = { errorType: 'Error', errorMessage: 'bad', stackTrace: [] };
    const runtime = runtimeOnce(server, (e) => postError(server, requestIdOf(e), document, 'Function.Error'));
    const r = await call(server, 'POST', RIE, { body: '{}' });
    expect(r.status).toBe(200);
    expect(r.headers['x-amz-function-error']).toBe('Unhandled');
    expect(r.json()).toEqual(document);
    await runtime;
  });

  it('hands an empty payload over as {} and decodes X-Amz-Client-Context', async () => {
    const server = await start();
    const runtime = runtimeOnce(server, (e) => respond(server, requestIdOf(e), 'null'));
    const context = Buffer.from(JSON.stringify({ custom: { k: 'v' } })).toString('base64');
    await call(server, 'POST', RIE, { headers: { 'X-Amz-Client-Context': context } });
    const event = await runtime;
    expect(event.text()).toBe('{}');
    expect(JSON.parse(event.headers['lambda-runtime-client-context'] as string)).toEqual({ custom: { k: 'v' } });
  });

  it('answers a DryRun with 204 and queues nothing', async () => {
    const server = await start();
    const r = await call(server, 'POST', RIE, { body: '{}', headers: { 'X-Amz-Invocation-Type': 'DryRun' } });
    expect(r.status).toBe(204);
    expect(server.queuedInvocations).toBe(0);
  });

  it('answers an Event invocation with 202 without waiting for the function', async () => {
    const server = await start();
    const r = await call(server, 'POST', RIE, { body: '{"async":true}', headers: { 'X-Amz-Invocation-Type': 'Event' } });
    expect(r.status).toBe(202);
    expect((await next(server)).json()).toEqual({ async: true });
  });
});

describe('recording and fault injection', () => {
  it('records every request with the status it got', async () => {
    const server = await start();
    const done = server.invoke({ a: 1 });
    const id = requestIdOf(await next(server));
    await respond(server, id, '"ok"', { 'X-Probe': '1' });
    await done;
    await call(server, 'GET', '/nowhere');

    expect(server.requests.map((r) => [r.method, r.path, r.status])).toEqual([
      ['GET', NEXT, 200],
      ['POST', `/2018-06-01/runtime/invocation/${id}/response`, 202],
      ['GET', '/nowhere', 404],
    ]);
    const post = server.requests[1]!;
    expect(post.body.toString()).toBe('"ok"');
    expect(post.headers['x-probe']).toBe('1');
    expect(post.receivedAt).toBeGreaterThan(0);
  });

  it('failNextPoll answers the waiting poll with the status and keeps the events queued', async () => {
    const server = await start();
    const polling = next(server);
    await server.waitForPoll();
    server.failNextPoll(500);
    const failed = await polling;
    expect(failed.status).toBe(500);
    expect(failed.json()).toMatchObject({ errorType: 'InjectedFault' });

    server.failNextPoll(502, 'bad gateway');
    void server.invoke({ kept: true });
    const second = await next(server);
    expect(second.status).toBe(502);
    expect(second.text()).toBe('bad gateway');
    const third = await next(server);
    expect(third.status).toBe(200);
    expect(third.json()).toEqual({ kept: true });
    expect(server.pollCount).toBe(3);
  });

  it('failNextPost answers the next response or error post with the status and keeps the invocation open', async () => {
    const server = await start();
    const done = server.invoke({}, { requestId: 'posted-twice' });
    await next(server);
    server.failNextPost();
    const refused = await respond(server, 'posted-twice', '"first"');
    expect(refused.status).toBe(500);
    expect(refused.json()).toMatchObject({ errorType: 'InjectedFault' });
    expect((await respond(server, 'posted-twice', '"second"')).status).toBe(202);
    expect((await done).json()).toBe('second');
  });

  it('closeNextPoll destroys the socket of the next poll', async () => {
    const server = await start();
    server.closeNextPoll();
    await expect(next(server)).rejects.toThrow(/socket hang up|ECONNRESET/);
    expect(server.requests[0]!.status).toBeUndefined();
    void server.invoke('after');
    expect((await next(server)).json()).toBe('after');
  });

  it('failPending ends every unfinished invocation as an error', async () => {
    const server = await start();
    const handedOut = server.invoke('a', { requestId: 'a' });
    await next(server);
    const queued = server.invoke('b', { requestId: 'b' });
    expect(server.failPending('Runtime.ExitError', 'Runtime exited with error: exit status 3')).toBe(2);
    for (const result of [await handedOut, await queued]) {
      expect(result.status).toBe('error');
      expect(result.errorType).toBe('Runtime.ExitError');
    }
    expect((await handedOut).error?.errorMessage).toBe('RequestId: a Error: Runtime exited with error: exit status 3');
    expect(server.queuedInvocations).toBe(0);
  });

  it('rejects a request id that is already in use', async () => {
    const server = await start();
    void server.invoke({}, { requestId: 'dup' });
    await expect(server.invoke({}, { requestId: 'dup' })).rejects.toThrow(/already used/);
  });
});

describe('close()', () => {
  it('ends long polls, rejects pending invocations and later calls', async () => {
    const server = await startRuntimeApi();
    const polling = next(server);
    await server.waitForPoll();
    const extension = await call(server, 'POST', REGISTER, {
      headers: { 'Lambda-Extension-Name': 'e' },
      body: '{"events":["SHUTDOWN"]}',
    });
    const extensionPoll = call(server, 'GET', EXTENSION_NEXT, {
      headers: { 'Lambda-Extension-Identifier': extension.headers['lambda-extension-identifier'] as string },
    });
    const handedOut = server.invoke({});
    const queued = server.invoke({});
    await polling;

    await server.close();
    await expect(handedOut).rejects.toThrow(/closed/);
    await expect(queued).rejects.toThrow(/closed/);
    await expect(extensionPoll).rejects.toThrow();
    await expect(server.invoke({})).rejects.toThrow(/closed/);
    await expect(server.waitForPoll()).rejects.toThrow(/closed/);
    await expect(next(server)).rejects.toThrow(/ECONNREFUSED/);
    await server.close();
  });
});

describe('SnapStart endpoints (restore/next, restore/error)', () => {
  const RESTORE_NEXT = '/2018-06-01/runtime/restore/next';
  const RESTORE_ERROR = '/2018-06-01/runtime/restore/error';

  it('are not served unless the server is started with snapStart', async () => {
    const server = await start();
    expect((await call(server, 'GET', RESTORE_NEXT)).status).toBe(404);
    expect((await call(server, 'POST', RESTORE_ERROR, { body: '{}' })).status).toBe(404);
  });

  it('holds restore/next until restore(), then answers 200; a second call is refused', async () => {
    const server = await start({ snapStart: true });
    let answered = false;
    const pending = call(server, 'GET', RESTORE_NEXT).then((r) => {
      answered = true;
      return r;
    });
    await server.waitForRestoreNext();
    expect(answered).toBe(false);
    server.restore();
    expect((await pending).status).toBe(200);
    // aws-lambda-runtime-interface-emulator internal/lambda/rapi/handler/restorenext.go, ServeHTTP:
    // a runtime not in the ready-for-restore state gets 403 InvalidStateTransition.
    const again = await call(server, 'GET', RESTORE_NEXT);
    expect(again.status).toBe(403);
    expect(again.json()).toMatchObject({ errorType: 'InvalidStateTransition' });
  });

  it('answers a restore/next that comes after restore() at once', async () => {
    const server = await start({ snapStart: true });
    server.restore();
    expect((await call(server, 'GET', RESTORE_NEXT)).status).toBe(200);
  });

  it('records the restore error with its type header and answers 202', async () => {
    const server = await start({ snapStart: true });
    const document = { errorType: 'TypeError', errorMessage: 'cannot reconnect', stackTrace: [] };
    const posted = await call(server, 'POST', RESTORE_ERROR, {
      body: JSON.stringify(document),
      headers: { 'Content-Type': 'application/json', 'Lambda-Runtime-Function-Error-Type': 'Runtime.AfterRestoreError' },
    });
    expect(posted.status).toBe(202);
    const record = await server.waitForRestoreError();
    expect(record.errorType).toBe('Runtime.AfterRestoreError');
    expect(record.error).toEqual(document);
    expect(server.restoreError).toBe(record);
  });

  it('waitForRestoreNext rejects when the runtime posts an init error instead', async () => {
    const server = await start({ snapStart: true });
    const waiting = server.waitForRestoreNext();
    await call(server, 'POST', INIT_ERROR, {
      body: JSON.stringify({ errorType: 'Error', errorMessage: 'x', stackTrace: [] }),
      headers: { 'Lambda-Runtime-Function-Error-Type': 'Runtime.BeforeSnapshotError' },
    });
    await expect(waiting).rejects.toThrow(/Runtime.BeforeSnapshotError/);
  });
});
