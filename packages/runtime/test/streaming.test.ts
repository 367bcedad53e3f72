import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { afterEach, describe, expect, it } from 'vitest';
import { InvalidStreamingOperation } from '../src/errors.js';
import {
  DEFAULT_CONTENT_TYPE,
  HANDLER_HIGHWATERMARK,
  HANDLER_STREAMING,
  HTTP_INTEGRATION_CONTENT_TYPE,
  HttpResponseStream,
  createResponseStream,
  finishStream,
  installAwsLambdaGlobal,
  isResponseStream,
  streamifyResponse,
  type StreamErrorTrailer,
  type StreamingResponse,
} from '../src/streaming.js';

interface Outcome {
  status: number;
}

type Call =
  | { kind: 'open'; contentType: string }
  | { kind: 'write'; data: Buffer }
  | { kind: 'end'; error: StreamErrorTrailer | undefined };

interface Fake {
  calls: Call[];
  factory: (contentType: string) => StreamingResponse<Outcome>;
  /** Chunks written, concatenated. */
  body(): Buffer;
}

function fake(options: { write?: (chunk: Uint8Array) => Promise<void>; end?: () => Promise<Outcome> } = {}): Fake {
  const calls: Call[] = [];
  return {
    calls,
    factory: (contentType) => {
      calls.push({ kind: 'open', contentType });
      return {
        write: async (chunk) => {
          calls.push({ kind: 'write', data: Buffer.from(chunk) });
          await options.write?.(chunk);
        },
        end: async (error) => {
          calls.push({ kind: 'end', error });
          return options.end ? options.end() : { status: 202 };
        },
      };
    },
    body: () =>
      Buffer.concat(calls.flatMap((call) => (call.kind === 'write' ? [call.data] : []))),
  };
}

function deferred(): { promise: Promise<void>; resolve: () => void } {
  let resolve!: () => void;
  const promise = new Promise<void>((r) => {
    resolve = r;
  });
  return { promise, resolve };
}

describe('ResponseStream', () => {
  it('starts the request lazily at the first write, with the default content type', async () => {
    const f = fake();
    const stream = createResponseStream(f.factory);
    expect(f.calls).toEqual([]);
    stream.write('hello ');
    stream.end('world');
    const finished = await finishStream(stream);
    expect(finished).toEqual({ posted: true, outcome: { status: 202 }, errorSent: false, error: undefined });
    expect(f.calls[0]).toEqual({ kind: 'open', contentType: DEFAULT_CONTENT_TYPE });
    expect(f.body().toString()).toBe('hello world');
    expect(f.calls.at(-1)).toEqual({ kind: 'end', error: undefined });
    expect(f.calls.filter((c) => c.kind === 'open')).toHaveLength(1);
  });

  it('uses the content type set before the first write and refuses it afterwards', async () => {
    const f = fake();
    const stream = createResponseStream(f.factory);
    stream.setContentType('text/plain');
    stream.write('x');
    expect(() => stream.setContentType('application/json')).toThrow(InvalidStreamingOperation);
    stream.end();
    await finishStream(stream);
    expect(f.calls[0]).toEqual({ kind: 'open', contentType: 'text/plain' });
  });

  it('end() without write() sends an empty response and does not hang', async () => {
    const f = fake();
    const stream = createResponseStream(f.factory);
    stream.end();
    await expect(finishStream(stream)).resolves.toMatchObject({ posted: true, errorSent: false });
    expect(f.calls).toEqual([
      { kind: 'open', contentType: DEFAULT_CONTENT_TYPE },
      { kind: 'end', error: undefined },
    ]);
  });

  it('JSON-encodes non-binary chunks like ric and never sends zero-length chunks', async () => {
    const f = fake();
    const stream = createResponseStream(f.factory);
    stream.write({ a: 1 });
    stream.write('');
    stream.write(new Uint8Array([0x21]));
    stream.write('aGk=', 'base64');
    stream.end([2]);
    await finishStream(stream);
    expect(f.body().toString()).toBe('{"a":1}!hi[2]');
    expect(f.calls.every((c) => c.kind !== 'write' || c.data.length > 0)).toBe(true);
  });

  it('applies backpressure until the Runtime API accepted the chunk', async () => {
    const gate = deferred();
    const f = fake({ write: () => gate.promise });
    const stream = createResponseStream(f.factory, { highWaterMark: 4 });
    expect(stream.write('12345678')).toBe(false);
    let drained = false;
    stream.once('drain', () => {
      drained = true;
    });
    await new Promise((r) => setImmediate(r));
    expect(drained).toBe(false);
    gate.resolve();
    await new Promise((r) => stream.once('drain', r).once('error', r));
    expect(drained).toBe(true);
    stream.end();
    await finishStream(stream);
  });

  it('works with pipeline()', async () => {
    const f = fake();
    const stream = createResponseStream(f.factory);
    await pipeline(Readable.from(['a', 'b', 'c']), stream);
    await expect(finishStream(stream)).resolves.toMatchObject({ posted: true });
    expect(f.body().toString()).toBe('abc');
  });
});

describe('finishStream', () => {
  it('reports a failure before anything was written as not posted', async () => {
    const f = fake();
    const stream = createResponseStream(f.factory);
    stream.setContentType('text/plain');
    const error = new Error('early');
    await expect(finishStream(stream, { error })).resolves.toEqual({ posted: false, error });
    expect(f.calls).toEqual([]);
    // Stray writes after the loop gave up must not start a request.
    stream.write('late', () => {});
    await new Promise((r) => setImmediate(r));
    expect(f.calls).toEqual([]);
  });

  it('flushes what was written, then ends with error trailers when the handler failed mid-stream', async () => {
    const f = fake();
    const stream = createResponseStream(f.factory);
    stream.write('partial ');
    stream.write('body');
    class BrokenPipe extends Error {}
    const finished = await finishStream(stream, { error: new BrokenPipe('upstream went away') });
    expect(finished).toMatchObject({ posted: true, errorSent: true, outcome: { status: 202 } });
    expect(f.body().toString()).toBe('partial body');
    const end = f.calls.at(-1);
    expect(end).toMatchObject({
      kind: 'end',
      error: {
        errorTypeHeader: 'Function.BrokenPipe',
        body: { errorType: 'BrokenPipe', errorMessage: 'upstream went away' },
      },
    });
  });

  it('keeps a completed response when the handler fails after end(), returning the error for logging', async () => {
    const f = fake();
    const stream = createResponseStream(f.factory);
    stream.end('done');
    const error = new Error('after');
    const finished = await finishStream(stream, { error });
    expect(finished).toEqual({ posted: true, outcome: { status: 202 }, errorSent: false, error });
    expect(f.calls.at(-1)).toEqual({ kind: 'end', error: undefined });
  });

  it('ends with trailers when the stream was destroyed mid-stream and the handler resolved', async () => {
    const f = fake();
    const stream = createResponseStream(f.factory);
    stream.write('some');
    await new Promise((r) => setImmediate(r));
    stream.destroy(new TypeError('source failed'));
    const finished = await finishStream(stream);
    expect(finished).toMatchObject({ posted: true, errorSent: true });
    expect(f.calls.at(-1)).toMatchObject({ kind: 'end', error: { errorTypeHeader: 'Function.TypeError' } });
  });

  it('reports a destroyed, never-started stream as not posted', async () => {
    const f = fake();
    const stream = createResponseStream(f.factory);
    stream.destroy();
    const finished = await finishStream(stream);
    expect(finished.posted).toBe(false);
    expect(f.calls).toEqual([]);
  });

  it('rejects when the Runtime API connection fails, without an uncaught error', async () => {
    const lost = new Error('socket hang up');
    const f = fake({ write: () => Promise.reject(lost) });
    const stream = createResponseStream(f.factory);
    const writeError = await new Promise<Error | null | undefined>((resolve) => stream.write('x', resolve));
    expect(writeError).toBe(lost);
    await expect(finishStream(stream, { error: writeError })).rejects.toBe(lost);
  });

  it('rejects for objects that are not response streams', async () => {
    await expect(finishStream({} as never)).rejects.toThrow(TypeError);
  });
});

describe('HttpResponseStream', () => {
  const prelude = { statusCode: 404, headers: { 'x-a': 'b' }, cookies: ['c=1'] };
  const expectedPrelude = Buffer.concat([Buffer.from(JSON.stringify(prelude)), Buffer.alloc(8)]);

  it('writes the JSON prelude and 8 NUL bytes before the body, with the integration content type', async () => {
    const f = fake();
    const stream = HttpResponseStream.from(createResponseStream(f.factory), prelude);
    stream.write('not found');
    stream.end();
    await finishStream(stream);
    expect(f.calls[0]).toEqual({ kind: 'open', contentType: HTTP_INTEGRATION_CONTENT_TYPE });
    expect(f.body()).toEqual(Buffer.concat([expectedPrelude, Buffer.from('not found')]));
  });

  it('sends the prelude even when the stream is ended without a write (ric issue #97)', async () => {
    const f = fake();
    const stream = HttpResponseStream.from(createResponseStream(f.factory), prelude);
    stream.end();
    await finishStream(stream);
    expect(f.body()).toEqual(expectedPrelude);
  });

  it('works on any stream following the protocol (another copy of the package, ric streams)', () => {
    const seen: string[] = [];
    const foreign = {
      setContentType: (type: string) => seen.push(type),
      _onBeforeFirstWrite: undefined as ((write: (chunk: unknown) => void) => void) | undefined,
    };
    HttpResponseStream.from(foreign, { statusCode: 201 });
    const written: unknown[] = [];
    foreign._onBeforeFirstWrite?.((chunk) => written.push(chunk));
    expect(seen).toEqual([HTTP_INTEGRATION_CONTENT_TYPE]);
    expect(written).toEqual(['{"statusCode":201}', new Uint8Array(8)]);
  });

  it('refuses once the stream has started', () => {
    const stream = createResponseStream(fake().factory);
    stream.write('x');
    expect(() => HttpResponseStream.from(stream, prelude)).toThrow(InvalidStreamingOperation);
  });
});

describe('streamifyResponse and the awslambda global', () => {
  afterEach(() => {
    delete (globalThis as { awslambda?: unknown }).awslambda;
  });

  it('marks the handler with the managed runtime symbols', () => {
    const handler = streamifyResponse(async () => {}, { highWaterMark: 1024.7 });
    const marks = handler as unknown as Record<symbol, unknown>;
    expect(marks[Symbol.for('aws.lambda.runtime.handler.streaming')]).toBe('response');
    expect(marks[Symbol.for('aws.lambda.runtime.handler.streaming.highWaterMark')]).toBe(1024);
    expect(HANDLER_STREAMING).toBe(Symbol.for('aws.lambda.runtime.handler.streaming'));
    expect(HANDLER_HIGHWATERMARK).toBe(Symbol.for('aws.lambda.runtime.handler.streaming.highWaterMark'));
  });

  it('installs awslambda.streamifyResponse / HttpResponseStream, keeping other members, unless opted out', () => {
    (globalThis as { awslambda?: unknown }).awslambda = { other: 1 };
    installAwsLambdaGlobal({});
    const g = (globalThis as { awslambda?: Record<string, unknown> }).awslambda;
    expect(g?.other).toBe(1);
    expect(g?.streamifyResponse).toBe(streamifyResponse);
    expect(g?.HttpResponseStream).toBe(HttpResponseStream);

    delete (globalThis as { awslambda?: unknown }).awslambda;
    installAwsLambdaGlobal({ AWS_LAMBDA_NODEJS_NO_GLOBAL_AWSLAMBDA: 'true' });
    expect((globalThis as { awslambda?: unknown }).awslambda).toBeUndefined();
  });

  it('recognises response streams by marker', () => {
    expect(isResponseStream(createResponseStream(fake().factory))).toBe(true);
    expect(isResponseStream({})).toBe(false);
  });
});
