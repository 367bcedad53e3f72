import { Writable } from 'node:stream';
import type { Context } from './context.js';
import { describeError, InvalidStreamingOperation, ResponseSerializationError, type ErrorResponse } from './errors.js';

/**
 * Marker the managed runtime's `awslambda.streamifyResponse` puts on a handler; its value must
 * be {@link STREAM_RESPONSE}. Read by the handler loader.
 */
export const HANDLER_STREAMING: unique symbol = Symbol.for('aws.lambda.runtime.handler.streaming');
/** Optional high-water mark (bytes) set by `streamifyResponse(handler, { highWaterMark })`. */
export const HANDLER_HIGHWATERMARK: unique symbol = Symbol.for('aws.lambda.runtime.handler.streaming.highWaterMark');
/** The only streaming mode Lambda supports. */
export const STREAM_RESPONSE = 'response';

/** Content type of a streamed response when the handler sets none. */
export const DEFAULT_CONTENT_TYPE = 'application/octet-stream';
/** Content type announcing an HTTP-integration prelude (see {@link HttpResponseStream}). */
export const HTTP_INTEGRATION_CONTENT_TYPE = 'application/vnd.awslambda.http-integration-response';
const PRELUDE_DELIMITER_BYTES = 8;

// Shared by every copy of this package: the loop may finish a stream another copy created.
const CONTROLLER = Symbol.for('@custom-runtime/response-stream');

/** The error trailer of a streamed response (`Lambda-Runtime-Function-Error-Type` / `-Body`). */
export interface StreamErrorTrailer {
  errorTypeHeader: string;
  body: ErrorResponse;
}

/**
 * One streamed response to the Runtime API, as runtime-api.ts provides it. `O` is what the post
 * answered (runtime-api's `PostOutcome`).
 */
export interface StreamingResponse<O> {
  /** Sends a chunk; resolves once it is flushed (this is the stream's backpressure). */
  write(chunk: Uint8Array): Promise<void>;
  /** Ends the request, with error trailers when `error` is given. Rejects only on a lost connection. */
  end(error?: StreamErrorTrailer): Promise<O>;
}

/** Starts the HTTP request of a streamed response, with the content type known at that moment. */
export type StreamingResponseFactory<O> = (contentType: string) => StreamingResponse<O> | Promise<StreamingResponse<O>>;

/** Options of {@link ResponseStream}. */
export interface ResponseStreamOptions {
  /** Bytes buffered before `write()` returns false; from `streamifyResponse(…, { highWaterMark })`. */
  readonly highWaterMark?: number | undefined;
}

/** How a handler's call ended, for {@link finishStream}: `undefined` when it resolved. */
export type HandlerFailure = { readonly error: unknown } | undefined;

/** What {@link finishStream} did. */
export type StreamFinish<O> =
  | {
      /** The streamed response was ended and the Runtime API answered `outcome`. */
      readonly posted: true;
      readonly outcome: O;
      /** True when the response ended with error trailers describing `error`. */
      readonly errorSent: boolean;
      /**
       * The failure, if any: sent as trailers (`errorSent`), or, when the handler failed after
       * ending the stream, reported to nobody (the loop should log it).
       */
      readonly error: unknown;
    }
  | {
      /** Nothing was sent: the loop must post `error` to `/invocation/{id}/error` itself. */
      readonly posted: false;
      readonly error: unknown;
    };

interface StreamController<O> {
  readonly version: 1;
  finish(failure: HandlerFailure): Promise<StreamFinish<O>>;
}

type WriteCallback = (error: Error | null | undefined) => void;

/** Strings and bytes go as they are; anything else is JSON-encoded first, as in ric. */
function toChunk(chunk: unknown): unknown {
  if (typeof chunk === 'string' || chunk instanceof Uint8Array) return chunk;
  let json: string | undefined;
  try {
    json = JSON.stringify(chunk);
  } catch (err) {
    throw new ResponseSerializationError('Unable to stringify a chunk written to the response stream', { cause: err });
  }
  // undefined, functions and symbols: let Writable reject them with its usual error.
  return json ?? chunk;
}

function toBuffer(chunk: unknown): Buffer {
  const data = toChunk(chunk);
  if (typeof data === 'string') return Buffer.from(data, 'utf8');
  if (data instanceof Uint8Array) return Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  throw new InvalidStreamingOperation(`cannot write a ${typeof data} to the response stream`);
}

function trailerFor(error: unknown): StreamErrorTrailer {
  const { response, typeHeader } = describeError(error);
  return { errorTypeHeader: typeHeader, body: response };
}

/** Resolves once the stream has finished, errored or closed. */
function settled(stream: Writable): Promise<void> {
  if (stream.writableFinished || stream.closed) return Promise.resolve();
  return new Promise((resolve) => {
    const done = (): void => {
      stream.off('finish', done);
      stream.off('close', done);
      stream.off('error', done);
      resolve();
    };
    stream.on('finish', done);
    stream.on('close', done);
    stream.on('error', done);
  });
}

/**
 * The `responseStream` a streaming handler writes to. A `Writable` whose HTTP request starts
 * lazily, at the first write or at `end()`, with the content type set so far (default
 * `application/octet-stream`). Writes wait for the Runtime API connection (backpressure).
 * Compatible with ric's stream: non-binary chunks are JSON-encoded, `setContentType` and the
 * `_onBeforeFirstWrite` hook behave the same, and unlike ric the hook also runs when the stream
 * is ended without a write (so an HTTP prelude is never lost).
 */
export class ResponseStream<O = unknown> extends Writable {
  /**
   * Called once, just before the request starts, with a function writing chunks ahead of the
   * handler's first one. Set by {@link HttpResponseStream.from} (any copy of it: the property
   * is the protocol, as in ric).
   */
  _onBeforeFirstWrite: ((write: (chunk: unknown) => void) => void) | undefined = undefined;

  readonly #factory: StreamingResponseFactory<O>;
  #contentType = DEFAULT_CONTENT_TYPE;
  #writeCalled = false;
  #started = false;
  #response: StreamingResponse<O> | undefined;
  #queue: Promise<void> = Promise.resolve();
  #transportFailed = false;
  #transportError: unknown;
  #responseEnded = false;
  #outcome: O | undefined;
  #trailer: StreamErrorTrailer | undefined;

  constructor(factory: StreamingResponseFactory<O>, options: ResponseStreamOptions = {}) {
    super(options.highWaterMark === undefined ? {} : { highWaterMark: options.highWaterMark });
    this.#factory = factory;
    // Errors reach the handler through write callbacks and pipeline(); an 'error' event with no
    // listener would otherwise become an uncaught exception and take the process down.
    this.on('error', () => {});
    const controller: StreamController<O> = { version: 1, finish: (failure) => this.#finish(failure) };
    Object.defineProperty(this, CONTROLLER, { value: controller });
  }

  /** Sets the response's content type; only before the first write. */
  setContentType(contentType: string): void {
    if (this.#writeCalled || this.#started) {
      throw new InvalidStreamingOperation('Cannot set content-type, too late.');
    }
    if (typeof contentType !== 'string' || contentType === '') {
      throw new InvalidStreamingOperation('content type must be a non-empty string');
    }
    this.#contentType = contentType;
  }

  override write(chunk: unknown, callback?: WriteCallback): boolean;
  override write(chunk: unknown, encoding: BufferEncoding, callback?: WriteCallback): boolean;
  override write(chunk: unknown, encodingOrCallback?: BufferEncoding | WriteCallback, callback?: WriteCallback): boolean {
    this.#writeCalled = true;
    const data = toChunk(chunk);
    if (typeof encodingOrCallback === 'function') return super.write(data, encodingOrCallback);
    if (encodingOrCallback === undefined) return super.write(data, callback);
    return super.write(data, encodingOrCallback, callback);
  }

  override end(callback?: () => void): this;
  override end(chunk: unknown, callback?: () => void): this;
  override end(chunk: unknown, encoding: BufferEncoding, callback?: () => void): this;
  override end(chunkOrCallback?: unknown, encodingOrCallback?: BufferEncoding | (() => void), callback?: () => void): this {
    if (typeof chunkOrCallback === 'function') return super.end(chunkOrCallback as () => void);
    if (chunkOrCallback === undefined || chunkOrCallback === null) {
      return typeof encodingOrCallback === 'function' ? super.end(encodingOrCallback) : super.end(callback);
    }
    // Writable.end(chunk) bypasses write(), so the chunk is converted here too.
    this.#writeCalled = true;
    const data = toChunk(chunkOrCallback);
    if (typeof encodingOrCallback === 'function') return super.end(data, encodingOrCallback);
    if (encodingOrCallback === undefined) return super.end(data, callback);
    return super.end(data, encodingOrCallback, callback);
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: WriteCallback): void {
    try {
      this.#start();
    } catch (err) {
      callback(err as Error);
      return;
    }
    this.#enqueue(() => this.#send(chunk)).then(() => callback(null), callback);
  }

  override _final(callback: WriteCallback): void {
    try {
      this.#start();
    } catch (err) {
      callback(err as Error);
      return;
    }
    this.#enqueue(() => this.#endResponse(this.#trailer)).then(() => callback(null), callback);
  }

  /** Starts the request once; the prelude hook's chunks go first. */
  #start(): void {
    if (this.#started) return;
    this.#started = true;
    const prelude: Buffer[] = [];
    const hook = this._onBeforeFirstWrite;
    if (typeof hook === 'function') hook((chunk) => prelude.push(toBuffer(chunk)));
    const contentType = this.#contentType;
    this.#enqueue(async () => {
      this.#response = await this.#factory(contentType);
      for (const chunk of prelude) await this.#send(chunk);
    });
  }

  async #send(chunk: Buffer): Promise<void> {
    // A zero-length chunk would read as the end of a chunked body.
    if (chunk.length === 0 || this.#response === undefined) return;
    await this.#response.write(chunk);
  }

  async #endResponse(trailer: StreamErrorTrailer | undefined): Promise<void> {
    if (this.#response === undefined || this.#responseEnded) return;
    this.#responseEnded = true;
    this.#outcome = await this.#response.end(trailer);
  }

  /** Runs Runtime API operations one after another; the first transport failure stops the rest. */
  #enqueue(operation: () => Promise<void>): Promise<void> {
    const run = this.#queue.then(async () => {
      if (this.#transportFailed) throw this.#transportError;
      try {
        await operation();
      } catch (err) {
        this.#transportFailed = true;
        this.#transportError = err;
        throw err;
      }
    });
    this.#queue = run.catch(() => {});
    return run;
  }

  async #finish(failure: HandlerFailure): Promise<StreamFinish<O>> {
    if (failure !== undefined && !this.writableEnded && !this.destroyed) {
      if (!this.#started && !this.#writeCalled) {
        // Nothing on the wire: a plain /error post reports it better than an empty stream.
        this.destroy();
        return { posted: false, error: failure.error };
      }
      // Flush what the handler wrote, then end with trailers (see _final).
      this.#trailer = trailerFor(failure.error);
      this.end();
    }
    await settled(this);
    await this.#queue;
    if (this.#transportFailed) throw this.#transportError;
    if (this.#responseEnded) {
      return {
        posted: true,
        outcome: this.#outcome as O,
        errorSent: this.#trailer !== undefined,
        error: failure?.error,
      };
    }
    // Destroyed before it was ended (by the handler, or by a failed pipeline).
    const error =
      failure?.error ?? this.errored ?? new Error('The response stream was destroyed before it was ended');
    if (!this.#started) return { posted: false, error };
    this.#trailer = trailerFor(error);
    await this.#enqueue(() => this.#endResponse(this.#trailer));
    return { posted: true, outcome: this.#outcome as O, errorSent: true, error };
  }
}

/** Whether `value` is a response stream made by any copy of this package. */
export function isResponseStream(value: unknown): value is ResponseStream {
  return typeof value === 'object' && value !== null && CONTROLLER in value;
}

/** Creates the stream handed to a streaming handler; the loop then calls {@link finishStream}. */
export function createResponseStream<O>(factory: StreamingResponseFactory<O>, options: ResponseStreamOptions = {}): ResponseStream<O> {
  return new ResponseStream(factory, options);
}

/**
 * Finishes a streamed invocation once the handler's promise settled (`failure` when it
 * rejected). Resolves after the HTTP request ended:
 *
 * - handler resolved: waits until the handler (or code it left running) ends the stream, like
 *   ric; a handler that never ends it waits for Lambda's timeout;
 * - handler failed after the stream started: buffered chunks are flushed, then the request ends
 *   with error trailers (`errorSent`);
 * - handler failed before anything was written: `{ posted: false }`, the loop posts `/error`;
 * - handler failed after ending the stream: the response stands, `error` is returned for logging.
 *
 * Rejects only when the Runtime API connection failed. Works on a stream made by any copy of
 * this package.
 */
export function finishStream<O>(stream: ResponseStream<O>, failure?: HandlerFailure): Promise<StreamFinish<O>> {
  const controller = (stream as unknown as Partial<Record<typeof CONTROLLER, StreamController<O>>>)[CONTROLLER];
  if (controller?.version !== 1) {
    return Promise.reject(new TypeError('finishStream() needs a stream made by createResponseStream()'));
  }
  return controller.finish(failure);
}

/** Metadata of an HTTP-integration response (Function URLs, API Gateway streaming). */
export interface HttpResponseMetadata {
  statusCode?: number;
  headers?: Record<string, string | number | readonly string[]>;
  cookies?: readonly string[];
  readonly [key: string]: unknown;
}

/** The part of a response stream {@link HttpResponseStream.from} relies on (ric's protocol). */
export interface PreludeCapableStream {
  setContentType(contentType: string): void;
  _onBeforeFirstWrite: ((write: (chunk: unknown) => void) => void) | undefined;
}

/** The managed runtime's `awslambda.HttpResponseStream`. */
export class HttpResponseStream {
  /**
   * Sets the content type to `application/vnd.awslambda.http-integration-response` and arranges
   * for the JSON of `metadata` and 8 NUL bytes to precede the body, as ric does. Returns the same
   * stream. Throws if the stream already started, or if `metadata` is not JSON-serialisable.
   */
  static from<S extends PreludeCapableStream>(stream: S, metadata: HttpResponseMetadata): S {
    stream.setContentType(HTTP_INTEGRATION_CONTENT_TYPE);
    const prelude = JSON.stringify(metadata);
    stream._onBeforeFirstWrite = (write) => {
      write(prelude);
      write(new Uint8Array(PRELUDE_DELIMITER_BYTES));
    };
    return stream;
  }
}

/** Options of {@link streamifyResponse}. */
export interface StreamifyOptions {
  readonly highWaterMark?: number;
}

/** A handler for response streaming: it writes to `responseStream` and ends it. */
export type StreamingHandler<TEvent = unknown> = (
  event: TEvent,
  responseStream: ResponseStream,
  context: Context,
) => Promise<unknown>;

/**
 * Marks a handler as streaming, exactly as the managed runtime's `awslambda.streamifyResponse`
 * does (same `Symbol.for` keys), and returns it.
 */
export function streamifyResponse<TEvent = unknown>(
  handler: StreamingHandler<TEvent>,
  options?: StreamifyOptions,
): StreamingHandler<TEvent> {
  const marked = handler as StreamingHandler<TEvent> & Record<symbol, unknown>;
  marked[HANDLER_STREAMING] = STREAM_RESPONSE;
  if (typeof options?.highWaterMark === 'number') {
    marked[HANDLER_HIGHWATERMARK] = Math.trunc(options.highWaterMark);
  }
  return handler;
}

/**
 * Installs `globalThis.awslambda.{streamifyResponse, HttpResponseStream}` for handlers written for
 * the managed runtime (which use them at module top level), keeping other members of an existing
 * `awslambda`. `AWS_LAMBDA_NODEJS_NO_GLOBAL_AWSLAMBDA=1|true` opts out, as in ric.
 */
export function installAwsLambdaGlobal(env: NodeJS.ProcessEnv = process.env): void {
  const optOut = env.AWS_LAMBDA_NODEJS_NO_GLOBAL_AWSLAMBDA;
  if (optOut === '1' || optOut === 'true') return;
  const slot = globalThis as { awslambda?: Record<string, unknown> };
  slot.awslambda = { ...slot.awslambda, streamifyResponse, HttpResponseStream };
}
