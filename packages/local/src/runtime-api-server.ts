import { randomUUID } from 'node:crypto';
import http, { type IncomingHttpHeaders, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';

/**
 * Largest buffered response (or error document) the Runtime API accepts: 6 MiB + 100 bytes,
 * the limit Lambda and the Runtime Interface Emulator enforce (`interop.MaxPayloadSize`).
 */
export const MAX_RESPONSE_BYTES = 6 * 1024 * 1024 + 100;

/**
 * Largest streamed response (`Lambda-Runtime-Function-Response-Mode: streaming`): 200 MB (the
 * guide's "Response streaming for Lambda functions"; Lambda sends the first 6 MB at full speed
 * and throttles the rest, which this stand-in does not imitate).
 */
export const MAX_STREAMED_RESPONSE_BYTES = 200 * 1024 * 1024;

/** Lambda's default function timeout, used when neither the server nor the invoke sets one. */
export const DEFAULT_TIMEOUT_MS = 3000;

/** How an invocation ended, from the point of view of whoever called the Invoke API. */
export type InvocationStatus =
  /** The runtime posted a response (buffered, or streamed without an error trailer). */
  | 'success'
  /**
   * The function failed: the runtime posted to `/error`, a stream ended with an error trailer,
   * the response was too large, or the runtime went away (`failPending`).
   */
  | 'error'
  /** No response before the deadline (`Sandbox.Timedout`). */
  | 'timeout'
  /** The runtime posted `/runtime/init/error` before this invocation was handed out. */
  | 'init-error';

/** The JSON error document Lambda exchanges with runtimes and returns from a failed invoke. */
export interface ErrorDocument {
  readonly errorType: string;
  readonly errorMessage: string;
  readonly stackTrace: readonly string[];
}

/** One piece of a streamed response, as it arrived on the socket. */
export interface ResponseChunk {
  readonly data: Buffer;
  /** Arrival time, epoch milliseconds with sub-millisecond precision. */
  readonly receivedAt: number;
}

/** What `invoke()` resolves with: the outcome of one invocation. */
export interface InvocationResult {
  readonly requestId: string;
  readonly status: InvocationStatus;
  /**
   * The bytes the runtime posted (response, error document or streamed bytes); for outcomes the
   * platform decides (timeout, oversized buffered response, init error, runtime exit), the error
   * document the Invoke API would return.
   */
  readonly body: Buffer;
  /** `body` decoded as UTF-8. */
  text(): string;
  /** `body` parsed as JSON; throws if it is not JSON. */
  json<T = unknown>(): T;
  /**
   * The error's type as Lambda reports it: the `Lambda-Runtime-Function-Error-Type` header or
   * trailer the runtime sent (e.g. `Function.TypeError`), else the document's `errorType`, else
   * `Unhandled`; or the platform's type (`Sandbox.Timedout`, `Function.ResponseSizeTooLarge`,
   * `Runtime.InvalidResponseModeHeader`, `Runtime.ExitError`). Undefined on success.
   */
  readonly errorType?: string | undefined;
  /** The error document, when the failure carried one that parses as a JSON object. */
  readonly error?: ErrorDocument | undefined;
  /** Whether the runtime used `Lambda-Runtime-Function-Response-Mode: streaming`. */
  readonly streamed: boolean;
  /** `Content-Type` of the runtime's POST. */
  readonly contentType?: string | undefined;
  /** For streamed responses, each piece of the body in arrival order. */
  readonly chunks?: readonly ResponseChunk[] | undefined;
  /** For streamed responses, the HTTP trailers of the POST (lower-case names). */
  readonly trailers?: Readonly<Record<string, string>> | undefined;
  /** Headers of the runtime's POST; empty for outcomes the platform decides. */
  readonly headers: IncomingHttpHeaders;
  /** From handing the event to the runtime to the outcome; 0 if it was never handed out. */
  readonly durationMs: number;
}

/** Per-invocation options of {@link RuntimeApiServer.invoke}. */
export interface InvokeOptions {
  /** `Lambda-Runtime-Aws-Request-Id`; a random UUID by default. */
  readonly requestId?: string;
  /** `Lambda-Runtime-Trace-Id`; not sent when absent. */
  readonly traceId?: string;
  /** `Lambda-Runtime-Client-Context`: an object is sent as JSON, a string as is. */
  readonly clientContext?: object | string;
  /** `Lambda-Runtime-Cognito-Identity`: an object is sent as JSON, a string as is. */
  readonly cognitoIdentity?: object | string;
  /** `Lambda-Runtime-Aws-Tenant-Id`. */
  readonly tenantId?: string;
  /** `Lambda-Runtime-Invocation-Id`; not sent when absent. */
  readonly invocationId?: string;
  /**
   * Extra `/next` headers sent as these exact bytes (e.g. bytes that are not UTF-8); string
   * header values are always sent as UTF-8, as Lambda does.
   */
  readonly headerBytes?: Readonly<Record<string, Uint8Array>>;
  /** `Lambda-Runtime-Invoked-Function-Arn`; the server's function ARN by default. */
  readonly invokedFunctionArn?: string;
  /** Deadline after the event is handed to the runtime; the server's `timeoutMs` by default. */
  readonly timeoutMs?: number;
  /**
   * `false`: the deadline is sent in `Lambda-Runtime-Deadline-Ms` but the server does not end
   * the invocation when it passes, as with Lambda Managed Instances, where the runtime must.
   * `true` by default.
   */
  readonly enforceTimeout?: boolean;
  /** The event bytes as sent; when given, `event` is ignored instead of JSON-serialised. */
  readonly rawBody?: string | Uint8Array;
  /** Called for each piece of a streamed response as it arrives. */
  readonly onChunk?: (chunk: ResponseChunk) => void;
}

/** Options of {@link startRuntimeApi}. */
export interface RuntimeApiServerOptions {
  /** Port on 127.0.0.1; 0 (the default) picks a free one. */
  readonly port?: number;
  /** Used in the default ARN and the extension registration answer; `local-function` by default. */
  readonly functionName?: string;
  /** `$LATEST` by default. */
  readonly functionVersion?: string;
  /** `us-east-1` by default. */
  readonly region?: string;
  /** `123456789012` by default. */
  readonly accountId?: string;
  /** Reported to extensions on registration; empty by default. */
  readonly handler?: string;
  /** Default invocation timeout; {@link DEFAULT_TIMEOUT_MS} by default. */
  readonly timeoutMs?: number;
  /** {@link MAX_RESPONSE_BYTES} by default. */
  readonly maxResponseBytes?: number;
  /** {@link MAX_STREAMED_RESPONSE_BYTES} by default. */
  readonly maxStreamedResponseBytes?: number;
  /**
   * Serve the SnapStart endpoints (`GET /runtime/restore/next`, `POST /runtime/restore/error`),
   * as Lambda does when `AWS_LAMBDA_INITIALIZATION_TYPE=snap-start`; without it they answer 404.
   */
  readonly snapStart?: boolean;
}

/** One HTTP request the server received, in arrival order. */
export interface RecordedRequest {
  readonly method: string;
  /** Path and query as sent. */
  readonly path: string;
  readonly headers: IncomingHttpHeaders;
  /** Body bytes kept (a body cut off at a size limit is kept up to the limit). */
  readonly body: Buffer;
  /** Status answered; undefined while a long poll waits or when the socket was destroyed. */
  readonly status: number | undefined;
  /** Epoch milliseconds. */
  readonly receivedAt: number;
}

/** What the runtime posted to `/runtime/init/error`. */
export interface InitErrorRecord {
  /** `Lambda-Runtime-Function-Error-Type` header, else the document's `errorType`, else `Unhandled`. */
  readonly errorType: string;
  readonly error: ErrorDocument | undefined;
  readonly body: Buffer;
  readonly headers: IncomingHttpHeaders;
  readonly receivedAt: number;
}

/** What the runtime posted to `/runtime/restore/error` (SnapStart). */
export type RestoreErrorRecord = InitErrorRecord;

/** Events an extension can subscribe to. */
export type ExtensionEventType = 'INVOKE' | 'SHUTDOWN';

/** Why the execution environment shuts down, as sent in the `SHUTDOWN` event. */
export type ShutdownReason = 'spindown' | 'timeout' | 'failure';

/** An extension registered through `/2020-01-01/extension/register`. */
export interface RegisteredExtension {
  /** `Lambda-Extension-Name`. */
  readonly name: string;
  /** `Lambda-Extension-Identifier` handed back. */
  readonly id: string;
  readonly events: readonly ExtensionEventType[];
  /** Epoch milliseconds. */
  readonly registeredAt: number;
}

/** The local Runtime API: see {@link startRuntimeApi}. */
export interface RuntimeApiServer {
  /** `127.0.0.1:PORT`, the value for `AWS_LAMBDA_RUNTIME_API`. */
  readonly address: string;
  /** `http://127.0.0.1:PORT`. */
  readonly url: string;
  readonly functionName: string;
  readonly functionVersion: string;
  readonly region: string;
  /** Default `Lambda-Runtime-Invoked-Function-Arn`. */
  readonly functionArn: string;
  /** Default invocation timeout. */
  readonly timeoutMs: number;
  /**
   * Queues an event and resolves with the outcome: success, function error, timeout and init
   * error all resolve. Rejects only on misuse (duplicate request id, unserialisable event) or
   * when the server closes first; that rejection is pre-handled, so an invoke nobody awaits
   * does not raise an unhandled rejection.
   */
  invoke(event: unknown, options?: InvokeOptions): Promise<InvocationResult>;
  /** Every request received, in arrival order. */
  readonly requests: readonly RecordedRequest[];
  /** Number of `/runtime/invocation/next` requests received. */
  readonly pollCount: number;
  /** Number of `/next` requests waiting for an event right now. */
  readonly waitingPolls: number;
  /** Number of invocations queued and not yet handed to a runtime. */
  readonly queuedInvocations: number;
  /** Resolves once at least `count` (default 1) `/next` requests are waiting. */
  waitForPoll(count?: number): Promise<void>;
  /**
   * Makes the next answer to `/next` (the poll waiting now, if any, else the next to arrive)
   * the given status with a JSON error body. The queued events stay queued.
   */
  failNextPoll(status?: number, body?: string | Uint8Array): void;
  /** Makes the next answer to `/next` a destroyed socket instead. */
  closeNextPoll(): void;
  /**
   * Makes the next `/response` or `/error` post answered with `status` (500 by default: the
   * Runtime API's "Container error") without accepting it; the invocation stays open.
   */
  failNextPost(status?: number): void;
  /** The init error, once the runtime posted one. */
  readonly initError: InitErrorRecord | undefined;
  /** Resolves with the init error once the runtime posts one. */
  waitForInitError(): Promise<InitErrorRecord>;
  /**
   * SnapStart: resolves once the runtime waits on `restore/next`, i.e. it finished init and its
   * before-snapshot hooks: the moment Lambda takes the snapshot. Rejects if the runtime posts an
   * init error first.
   */
  waitForRestoreNext(): Promise<void>;
  /**
   * SnapStart: answers `restore/next` (the waiting request, else the next to arrive), as Lambda
   * does once an execution environment was restored from the snapshot. Later calls to
   * `restore/next` answer 403, as the Runtime API does.
   */
  restore(): void;
  /** SnapStart: the error posted to `restore/error`, once the runtime posted one. */
  readonly restoreError: RestoreErrorRecord | undefined;
  /** Resolves with the restore error once the runtime posts one. */
  waitForRestoreError(): Promise<RestoreErrorRecord>;
  /** Registered extensions, in registration order. */
  readonly extensions: readonly RegisteredExtension[];
  /** Resolves once at least `count` (default 1) extensions registered. */
  waitForExtensions(count?: number): Promise<void>;
  /**
   * Sends the `SHUTDOWN` event to every extension subscribed to it (a waiting
   * `/extension/event/next` is answered, otherwise the next one is). Returns how many were sent.
   * `deadlineMs` defaults to 2000 ms from now.
   */
  shutdown(options?: { readonly reason?: ShutdownReason; readonly deadlineMs?: number }): number;
  /**
   * Ends every invocation not yet finished (queued or handed out) as a function error with this
   * type and message, prefixed `RequestId: <id> Error: ` like Lambda does; for a runtime that
   * went away. Returns how many were ended.
   */
  failPending(errorType: string, errorMessage: string): number;
  /**
   * Stops the server: destroys every open socket (long polls included), rejects pending
   * invocations and waiters. Idempotent.
   */
  close(): Promise<void>;
}

/**
 * Starts a stand-in for the Lambda Runtime API (and the Extensions API and the Runtime Interface
 * Emulator's invoke endpoint) on 127.0.0.1, speaking the real wire protocol.
 *
 * After the runtime posts `/runtime/init/error`, every queued and every later `invoke()` resolves
 * at once with status `init-error`, carrying the init error (the way Lambda's Invoke API reports a
 * failed init as a function error); invocations already handed out run to their end.
 */
export async function startRuntimeApi(options: RuntimeApiServerOptions = {}): Promise<RuntimeApiServer> {
  const server = new LocalRuntimeApi(options);
  await server.listen(options.port ?? 0);
  return server;
}

const NEXT_PATH = '/2018-06-01/runtime/invocation/next';
const INIT_ERROR_PATH = '/2018-06-01/runtime/init/error';
const RESTORE_NEXT_PATH = '/2018-06-01/runtime/restore/next';
const RESTORE_ERROR_PATH = '/2018-06-01/runtime/restore/error';
const INVOCATION_POST = /^\/2018-06-01\/runtime\/invocation\/([^/]+)\/(response|error)$/;
const EXTENSION_REGISTER_PATH = '/2020-01-01/extension/register';
const EXTENSION_NEXT_PATH = '/2020-01-01/extension/event/next';
const EXTENSION_ERROR_PATH = /^\/2020-01-01\/extension\/(init|exit)\/error$/;
const RIE_INVOKE = /^\/2015-03-31\/functions\/([^/]+)\/invocations$/;

const ERROR_TYPE_HEADER = 'lambda-runtime-function-error-type';
const ERROR_BODY_TRAILER = 'lambda-runtime-function-error-body';
const RESPONSE_MODE_HEADER = 'lambda-runtime-function-response-mode';

interface MutableRecord {
  method: string;
  path: string;
  headers: IncomingHttpHeaders;
  body: Buffer;
  status: number | undefined;
  receivedAt: number;
}

type InvocationState = 'queued' | 'dispatched' | 'responding' | 'done';

interface Invocation {
  readonly id: string;
  readonly event: Buffer;
  readonly headers: Record<string, string>;
  readonly timeoutMs: number;
  readonly enforceTimeout: boolean;
  readonly traceId: string | undefined;
  readonly invokedFunctionArn: string;
  readonly onChunk: ((chunk: ResponseChunk) => void) | undefined;
  readonly resolve: (result: InvocationResult) => void;
  readonly reject: (err: Error) => void;
  state: InvocationState;
  dispatchedAt: number | undefined;
  timer: NodeJS.Timeout | undefined;
}

/** One HTTP request, the answer to it, and its entry in `requests`. */
interface Exchange {
  readonly req: IncomingMessage;
  readonly res: ServerResponse;
  readonly record: MutableRecord;
}

type PollFault =
  | { readonly kind: 'status'; readonly status: number; readonly body: Buffer }
  | { readonly kind: 'destroy' };

type ExtensionEvent =
  | {
      readonly eventType: 'INVOKE';
      readonly deadlineMs: number;
      readonly requestId: string;
      readonly invokedFunctionArn: string;
      readonly tracing: { readonly type: 'X-Amzn-Trace-Id'; readonly value: string };
    }
  | { readonly eventType: 'SHUTDOWN'; readonly shutdownReason: ShutdownReason; readonly deadlineMs: number };

interface ExtensionSlot {
  readonly info: RegisteredExtension;
  readonly queue: ExtensionEvent[];
  readonly polls: Exchange[];
}

interface Waiter {
  readonly ready: () => boolean;
  readonly resolve: () => void;
  readonly reject: (err: Error) => void;
}

interface BodyRead {
  readonly body: Buffer;
  readonly overflow: boolean;
  /** False when the connection dropped before the body ended. */
  readonly complete: boolean;
}

interface ResultInit {
  readonly requestId: string;
  readonly status: InvocationStatus;
  readonly body: Buffer;
  readonly errorType?: string | undefined;
  readonly error?: ErrorDocument | undefined;
  readonly streamed?: boolean;
  readonly contentType?: string | undefined;
  readonly chunks?: readonly ResponseChunk[] | undefined;
  readonly trailers?: Readonly<Record<string, string>> | undefined;
  readonly headers?: IncomingHttpHeaders;
  readonly durationMs: number;
}

/** A result before the invocation's id and duration are filled in. */
type ResultFields = Omit<ResultInit, 'requestId' | 'durationMs'>;

class LocalRuntimeApi implements RuntimeApiServer {
  readonly functionName: string;
  readonly functionVersion: string;
  readonly region: string;
  readonly functionArn: string;
  readonly timeoutMs: number;
  private readonly handler: string;
  private readonly accountId: string;
  private readonly maxResponseBytes: number;
  private readonly maxStreamedResponseBytes: number;
  private readonly http: http.Server;
  private readonly sockets = new Set<Socket>();
  private readonly recorded: MutableRecord[] = [];
  private readonly queue: Invocation[] = [];
  private readonly polls: Exchange[] = [];
  private readonly faults: PollFault[] = [];
  private readonly postFaults: number[] = [];
  /** Invocations not finished, by request id. */
  private readonly live = new Map<string, Invocation>();
  /** Finished invocations, by request id: how they ended decides 403 or 410 for a late post. */
  private readonly finished = new Map<string, 'completed' | 'timeout'>();
  private readonly extensionSlots: ExtensionSlot[] = [];
  private waiters: Waiter[] = [];
  private port = 0;
  private closed = false;
  private closing: Promise<void> | undefined;
  private polled = 0;
  private initErrorRecord: InitErrorRecord | undefined;
  private readonly snapStart: boolean;
  /** The `restore/next` waiting for restore(), and whether restore() was called. */
  private restorePoll: Exchange | undefined;
  private restoreRequested = false;
  private restoreAnswered = false;
  private restoreErrorRecord: RestoreErrorRecord | undefined;

  constructor(options: RuntimeApiServerOptions) {
    this.functionName = options.functionName ?? 'local-function';
    this.functionVersion = options.functionVersion ?? '$LATEST';
    this.region = options.region ?? 'us-east-1';
    this.accountId = options.accountId ?? '123456789012';
    this.functionArn = `arn:aws:lambda:${this.region}:${this.accountId}:function:${this.functionName}`;
    this.timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    this.handler = options.handler ?? '';
    this.maxResponseBytes = options.maxResponseBytes ?? MAX_RESPONSE_BYTES;
    this.maxStreamedResponseBytes = options.maxStreamedResponseBytes ?? MAX_STREAMED_RESPONSE_BYTES;
    this.snapStart = options.snapStart ?? false;
    this.http = http.createServer((req, res) => this.handle(req, res));
    // Long polls and slow streams are normal here; Node's defaults would cut them off.
    this.http.requestTimeout = 0;
    // 0 keeps idle keep-alive sockets open, as Lambda does while a handler runs.
    this.http.keepAliveTimeout = 0;
    this.http.on('connection', (socket: Socket) => {
      this.sockets.add(socket);
      socket.on('close', () => this.sockets.delete(socket));
    });
  }

  listen(port: number): Promise<void> {
    return new Promise((resolve, reject) => {
      this.http.once('error', reject);
      this.http.listen(port, '127.0.0.1', () => {
        this.http.off('error', reject);
        this.port = (this.http.address() as AddressInfo).port;
        resolve();
      });
    });
  }

  get address(): string {
    return `127.0.0.1:${this.port}`;
  }

  get url(): string {
    return `http://${this.address}`;
  }

  get requests(): readonly RecordedRequest[] {
    return this.recorded;
  }

  get pollCount(): number {
    return this.polled;
  }

  get waitingPolls(): number {
    return this.polls.length;
  }

  get queuedInvocations(): number {
    return this.queue.length;
  }

  get initError(): InitErrorRecord | undefined {
    return this.initErrorRecord;
  }

  get extensions(): readonly RegisteredExtension[] {
    return this.extensionSlots.map((slot) => slot.info);
  }

  get restoreError(): RestoreErrorRecord | undefined {
    return this.restoreErrorRecord;
  }

  waitForRestoreNext(): Promise<void> {
    const ready = this.waitUntil(() => this.restorePoll !== undefined || this.restoreAnswered || this.initErrorRecord !== undefined);
    return quietly(
      ready.then(() => {
        if (this.restorePoll !== undefined || this.restoreAnswered) return;
        throw new Error(`the runtime posted an init error (${this.initErrorRecord?.errorType ?? ''}) instead of waiting on restore/next`);
      }),
    );
  }

  restore(): void {
    this.restoreRequested = true;
    this.answerRestore();
  }

  async waitForRestoreError(): Promise<RestoreErrorRecord> {
    await this.waitUntil(() => this.restoreErrorRecord !== undefined);
    return this.restoreErrorRecord as RestoreErrorRecord;
  }

  private answerRestore(): void {
    const poll = this.restorePoll;
    if (!this.restoreRequested || poll === undefined) return;
    this.restorePoll = undefined;
    this.restoreAnswered = true;
    this.send(poll, 200, Buffer.alloc(0));
    this.notify();
  }

  private onRestoreNext(ex: Exchange): void {
    ex.req.resume();
    if (this.restoreAnswered || this.restorePoll !== undefined) {
      // The Runtime API's restore/next handler refuses a second call with InvalidStateTransition.
      this.sendError(ex, 403, 'InvalidStateTransition', 'restore/next was already called');
      return;
    }
    this.restorePoll = ex;
    ex.res.on('close', () => {
      if (this.restorePoll === ex) this.restorePoll = undefined;
    });
    this.notify();
    this.answerRestore();
  }

  private async onRestoreError(ex: Exchange): Promise<void> {
    const { req, record } = ex;
    if (this.restoreErrorRecord !== undefined) {
      req.resume();
      this.sendError(ex, 403, 'InvalidStateTransition', 'a restore error was already posted');
      return;
    }
    const read = await this.readLimited(ex);
    if (read === undefined || this.restoreErrorRecord !== undefined) return;
    const error = parseErrorDocument(read);
    this.restoreErrorRecord = { errorType: errorTypeOf(req, error), error, body: read, headers: req.headers, receivedAt: record.receivedAt };
    this.send(ex, 202, { status: 'OK' });
    this.notify();
  }

  invoke(event: unknown, options: InvokeOptions = {}): Promise<InvocationResult> {
    if (this.closed) return Promise.reject(new Error('the Runtime API server is closed'));
    const id = options.requestId ?? randomUUID();
    if (this.live.has(id) || this.finished.has(id)) {
      return Promise.reject(new Error(`request id ${id} was already used`));
    }
    let body: Buffer;
    try {
      body =
        options.rawBody !== undefined
          ? Buffer.from(options.rawBody)
          : Buffer.from(JSON.stringify(event) ?? 'null', 'utf8');
    } catch (err) {
      return Promise.reject(err instanceof Error ? err : new Error(String(err)));
    }
    if (this.initErrorRecord !== undefined) {
      this.finished.set(id, 'completed');
      return Promise.resolve(createResult({ ...initErrorFields(this.initErrorRecord), requestId: id, durationMs: 0 }));
    }

    const invokedFunctionArn = options.invokedFunctionArn ?? this.functionArn;
    const headers: Record<string, string> = {
      'Lambda-Runtime-Aws-Request-Id': id,
      'Lambda-Runtime-Invoked-Function-Arn': invokedFunctionArn,
    };
    if (options.traceId !== undefined) headers['Lambda-Runtime-Trace-Id'] = options.traceId;
    if (options.clientContext !== undefined) {
      headers['Lambda-Runtime-Client-Context'] = jsonHeader(options.clientContext);
    }
    if (options.cognitoIdentity !== undefined) {
      headers['Lambda-Runtime-Cognito-Identity'] = jsonHeader(options.cognitoIdentity);
    }
    if (options.tenantId !== undefined) headers['Lambda-Runtime-Aws-Tenant-Id'] = options.tenantId;
    if (options.invocationId !== undefined) headers['Lambda-Runtime-Invocation-Id'] = options.invocationId;
    // Node writes header strings as latin1: give it the UTF-8 bytes, one char per byte.
    for (const [name, value] of Object.entries(headers)) headers[name] = Buffer.from(value, 'utf8').toString('latin1');
    for (const [name, bytes] of Object.entries(options.headerBytes ?? {})) headers[name] = Buffer.from(bytes).toString('latin1');

    const outcome = new Promise<InvocationResult>((resolve, reject) => {
      const invocation: Invocation = {
        id,
        event: body,
        headers,
        timeoutMs: options.timeoutMs ?? this.timeoutMs,
        enforceTimeout: options.enforceTimeout ?? true,
        traceId: options.traceId,
        invokedFunctionArn,
        onChunk: options.onChunk,
        resolve,
        reject,
        state: 'queued',
        dispatchedAt: undefined,
        timer: undefined,
      };
      this.live.set(id, invocation);
      this.queue.push(invocation);
      this.pump();
    });
    return quietly(outcome);
  }

  waitForPoll(count = 1): Promise<void> {
    return this.waitUntil(() => this.polls.length >= count);
  }

  waitForExtensions(count = 1): Promise<void> {
    return this.waitUntil(() => this.extensionSlots.length >= count);
  }

  async waitForInitError(): Promise<InitErrorRecord> {
    await this.waitUntil(() => this.initErrorRecord !== undefined);
    return this.initErrorRecord as InitErrorRecord;
  }

  failNextPoll(status = 500, body?: string | Uint8Array): void {
    const bytes =
      body !== undefined
        ? Buffer.from(body)
        : Buffer.from(JSON.stringify({ errorMessage: 'fault injected by failNextPoll()', errorType: 'InjectedFault' }));
    this.faults.push({ kind: 'status', status, body: bytes });
    this.pump();
  }

  closeNextPoll(): void {
    this.faults.push({ kind: 'destroy' });
    this.pump();
  }

  failNextPost(status = 500): void {
    this.postFaults.push(status);
  }

  shutdown(options: { readonly reason?: ShutdownReason; readonly deadlineMs?: number } = {}): number {
    const event: ExtensionEvent = {
      eventType: 'SHUTDOWN',
      shutdownReason: options.reason ?? 'spindown',
      deadlineMs: options.deadlineMs ?? Date.now() + 2000,
    };
    let sent = 0;
    for (const slot of this.extensionSlots) {
      if (!slot.info.events.includes('SHUTDOWN')) continue;
      this.sendExtensionEvent(slot, event);
      sent++;
    }
    return sent;
  }

  failPending(errorType: string, errorMessage: string): number {
    const pending = [...this.live.values()];
    for (const invocation of pending) {
      const message = `RequestId: ${invocation.id} Error: ${errorMessage}`;
      this.finish(invocation, 'completed', platformFailure('error', errorType, message));
    }
    this.queue.length = 0;
    return pending.length;
  }

  close(): Promise<void> {
    this.closing ??= this.shutDownServer();
    return this.closing;
  }

  private async shutDownServer(): Promise<void> {
    this.closed = true;
    const closed = new Error('the Runtime API server closed before the invocation completed');
    for (const invocation of this.live.values()) {
      clearTimeout(invocation.timer);
      invocation.state = 'done';
      invocation.reject(closed);
    }
    this.live.clear();
    this.queue.length = 0;
    const waiters = this.waiters;
    this.waiters = [];
    for (const waiter of waiters) waiter.reject(new Error('the Runtime API server closed'));
    const stopped = new Promise<void>((resolve) => this.http.close(() => resolve()));
    this.http.closeAllConnections();
    for (const socket of this.sockets) socket.destroy();
    await stopped;
  }

  private waitUntil(ready: () => boolean): Promise<void> {
    if (ready()) return Promise.resolve();
    if (this.closed) return Promise.reject(new Error('the Runtime API server is closed'));
    return quietly(new Promise((resolve, reject) => this.waiters.push({ ready, resolve, reject })));
  }

  /** Re-checks waiters after any state change. */
  private notify(): void {
    const still: Waiter[] = [];
    for (const waiter of this.waiters) {
      if (waiter.ready()) waiter.resolve();
      else still.push(waiter);
    }
    this.waiters = still;
  }

  /** Matches waiting polls with faults first, then with queued events. */
  private pump(): void {
    while (this.polls.length > 0 && (this.faults.length > 0 || this.queue.length > 0)) {
      const poll = this.polls.shift() as Exchange;
      if (poll.res.destroyed || poll.req.socket.destroyed) continue;
      const fault = this.faults.shift();
      if (fault !== undefined) {
        this.applyFault(poll, fault);
        continue;
      }
      this.dispatch(this.queue.shift() as Invocation, poll);
    }
    this.notify();
  }

  private applyFault(poll: Exchange, fault: PollFault): void {
    if (fault.kind === 'destroy') {
      poll.req.socket.destroy();
      return;
    }
    this.send(poll, fault.status, fault.body);
  }

  private dispatch(invocation: Invocation, poll: Exchange): void {
    const now = Date.now();
    const deadlineMs = now + invocation.timeoutMs;
    invocation.state = 'dispatched';
    invocation.dispatchedAt = now;
    if (invocation.enforceTimeout) {
      invocation.timer = setTimeout(() => this.timeOut(invocation), invocation.timeoutMs);
      invocation.timer.unref();
    }
    this.send(poll, 200, invocation.event, {
      ...invocation.headers,
      'Lambda-Runtime-Deadline-Ms': String(deadlineMs),
    });
    for (const slot of this.extensionSlots) {
      if (!slot.info.events.includes('INVOKE')) continue;
      this.sendExtensionEvent(slot, {
        eventType: 'INVOKE',
        deadlineMs,
        requestId: invocation.id,
        invokedFunctionArn: invocation.invokedFunctionArn,
        tracing: { type: 'X-Amzn-Trace-Id', value: invocation.traceId ?? '' },
      });
    }
  }

  private timeOut(invocation: Invocation): void {
    const seconds = (invocation.timeoutMs / 1000).toFixed(2);
    const message = `RequestId: ${invocation.id} Error: Task timed out after ${seconds} seconds`;
    this.finish(invocation, 'timeout', platformFailure('timeout', 'Sandbox.Timedout', message));
  }

  private finish(
    invocation: Invocation,
    ending: 'completed' | 'timeout',
    result: ResultFields,
  ): void {
    if (invocation.state === 'done') return;
    invocation.state = 'done';
    clearTimeout(invocation.timer);
    this.live.delete(invocation.id);
    this.finished.set(invocation.id, ending);
    const durationMs = invocation.dispatchedAt === undefined ? 0 : Date.now() - invocation.dispatchedAt;
    invocation.resolve(createResult({ ...result, requestId: invocation.id, durationMs }));
  }

  private send(ex: Exchange, status: number, body: Buffer | object, headers: Record<string, string> = {}): void {
    const { res } = ex;
    if (res.headersSent || res.destroyed) return;
    ex.record.status = status;
    const bytes = Buffer.isBuffer(body) ? body : Buffer.from(JSON.stringify(body));
    res.writeHead(status, {
      'Content-Type': 'application/json',
      'Content-Length': String(bytes.length),
      ...headers,
    });
    res.end(bytes);
  }

  private sendError(ex: Exchange, status: number, errorType: string, errorMessage: string): void {
    this.send(ex, status, { errorMessage, errorType });
  }

  private handle(req: IncomingMessage, res: ServerResponse): void {
    const record: MutableRecord = {
      method: req.method ?? 'GET',
      path: req.url ?? '/',
      headers: req.headers,
      body: Buffer.alloc(0),
      status: undefined,
      receivedAt: Date.now(),
    };
    this.recorded.push(record);
    const ex: Exchange = { req, res, record };
    // A runtime that dies mid-request must not take the server down with it.
    req.on('error', () => {});
    const path = new URL(record.path, 'http://127.0.0.1').pathname;
    const route = (method: string, run: () => void | Promise<void>): void => {
      if (record.method !== method) {
        req.resume();
        this.sendError(ex, 405, 'MethodNotAllowed', `${record.method} is not allowed on ${path}`);
        return;
      }
      Promise.resolve()
        .then(run)
        .catch((err: unknown) => {
          this.sendError(ex, 500, 'InternalServerError', err instanceof Error ? err.message : String(err));
        });
    };

    if (path === NEXT_PATH) return route('GET', () => this.onNext(ex));
    const invocationPost = INVOCATION_POST.exec(path);
    if (invocationPost !== null) {
      const fault = this.postFaults.shift();
      if (fault !== undefined) {
        req.resume();
        this.sendError(ex, fault, 'InjectedFault', 'fault injected by failNextPost()');
        return;
      }
      const id = decodeURIComponent(invocationPost[1] as string);
      return invocationPost[2] === 'response'
        ? route('POST', () => this.onResponse(id, ex))
        : route('POST', () => this.onError(id, ex));
    }
    if (path === INIT_ERROR_PATH) return route('POST', () => this.onInitError(ex));
    if (this.snapStart && path === RESTORE_NEXT_PATH) return route('GET', () => this.onRestoreNext(ex));
    if (this.snapStart && path === RESTORE_ERROR_PATH) return route('POST', () => this.onRestoreError(ex));
    if (path === EXTENSION_REGISTER_PATH) return route('POST', () => this.onRegister(ex));
    if (path === EXTENSION_NEXT_PATH) return route('GET', () => this.onExtensionNext(ex));
    if (EXTENSION_ERROR_PATH.test(path)) return route('POST', () => this.onExtensionError(ex));
    if (RIE_INVOKE.test(path)) return route('POST', () => this.onRieInvoke(ex));
    req.resume();
    this.sendError(ex, 404, 'NotFound', `no route for ${record.method} ${path}`);
  }

  private onNext(ex: Exchange): void {
    this.polled++;
    ex.req.resume();
    this.polls.push(ex);
    ex.res.on('close', () => {
      const index = this.polls.indexOf(ex);
      if (index >= 0) {
        this.polls.splice(index, 1);
        this.notify();
      }
    });
    this.pump();
  }

  /**
   * Finds the invocation a POST is about, or answers the way the Runtime API does: 400 for an
   * id it never handed out, 410 after the deadline, 403 when a response or error was already
   * posted (or is being posted).
   */
  private claim(id: string, ex: Exchange): Invocation | undefined {
    const { req } = ex;
    const invocation = this.live.get(id);
    const ending = this.finished.get(id);
    let refused: [number, string, string] | undefined;
    if (ending === 'timeout') refused = [410, 'InvokeTimeout', 'Invoke timeout'];
    else if (ending === 'completed' || invocation?.state === 'responding') {
      refused = [403, 'InvalidStateTransition', `a response or error was already posted for request ${id}`];
    } else if (invocation === undefined || invocation.state === 'queued') {
      refused = [400, 'InvalidRequestID', 'Invalid request ID'];
    }
    if (refused === undefined) return invocation;
    req.resume();
    this.sendError(ex, ...refused);
    return undefined;
  }

  private async onResponse(id: string, ex: Exchange): Promise<void> {
    const { req, record } = ex;
    const invocation = this.claim(id, ex);
    if (invocation === undefined) return;
    const mode = header(req, RESPONSE_MODE_HEADER);
    if (mode !== undefined && mode !== 'streaming') {
      // Lambda fails the invocation as well as refusing the request.
      req.resume();
      this.sendError(ex, 400, 'InvalidFunctionResponseMode', 'Invalid function response mode');
      const message = `invalid response mode ${JSON.stringify(mode)}`;
      const failure = platformFailure('error', 'Runtime.InvalidResponseModeHeader', message, { headers: req.headers });
      this.finish(invocation, 'completed', failure);
      return;
    }
    const streamed = mode === 'streaming';
    const limit = streamed ? this.maxStreamedResponseBytes : this.maxResponseBytes;
    const tooLarge = (): void => {
      this.sendError(ex, 413, 'RequestEntityTooLarge', `Exceeded maximum allowed payload size (${limit} bytes).`);
      const message = `Response payload size exceeded maximum allowed payload size (${limit} bytes).`;
      const failure = platformFailure('error', 'Function.ResponseSizeTooLarge', message, {
        streamed,
        contentType: header(req, 'content-type'),
        headers: req.headers,
      });
      this.finish(invocation, 'completed', failure);
    };
    if (Number(header(req, 'content-length') ?? 0) > limit) {
      req.resume();
      tooLarge();
      return;
    }

    invocation.state = 'responding';
    const chunks: ResponseChunk[] = [];
    const read = await readBody(req, limit, {
      onChunk: streamed
        ? (data) => {
            const chunk: ResponseChunk = { data, receivedAt: performance.timeOrigin + performance.now() };
            chunks.push(chunk);
            invocation.onChunk?.(chunk);
          }
        : undefined,
      onOverflow: tooLarge,
    });
    record.body = read.body;
    if (read.overflow) return;
    if (!read.complete) {
      // The POST never arrived whole: as if it was not sent, so the runtime may post again.
      if (invocation.state === 'responding') invocation.state = 'dispatched';
      return;
    }
    // The deadline may have passed while the body was arriving.
    if (isDone(invocation)) {
      this.sendError(ex, 410, 'InvokeTimeout', 'Invoke timeout');
      return;
    }

    const trailers = streamed ? definedOnly(req.trailers) : undefined;
    const trailerType = trailers?.[ERROR_TYPE_HEADER];
    const trailerBody = trailers?.[ERROR_BODY_TRAILER];
    this.send(ex, 202, { status: 'OK' });
    this.finish(invocation, 'completed', {
      status: trailerType === undefined ? 'success' : 'error',
      body: read.body,
      errorType: trailerType,
      error: trailerBody === undefined ? undefined : parseErrorDocument(Buffer.from(trailerBody, 'base64')),
      streamed,
      contentType: header(req, 'content-type'),
      chunks: streamed ? chunks : undefined,
      trailers,
      headers: req.headers,
    });
  }

  private async onError(id: string, ex: Exchange): Promise<void> {
    const { req } = ex;
    const invocation = this.claim(id, ex);
    if (invocation === undefined) return;
    invocation.state = 'responding';
    const read = await this.readLimited(ex);
    if (read === undefined) {
      // An oversized or cut-off error document leaves the invocation open for another post.
      if (invocation.state === 'responding') invocation.state = 'dispatched';
      return;
    }
    // The deadline may have passed while the body was arriving.
    if (isDone(invocation)) {
      this.sendError(ex, 410, 'InvokeTimeout', 'Invoke timeout');
      return;
    }
    const error = parseErrorDocument(read);
    this.send(ex, 202, { status: 'OK' });
    this.finish(invocation, 'completed', {
      status: 'error',
      body: read,
      errorType: errorTypeOf(req, error),
      error,
      contentType: header(req, 'content-type'),
      headers: req.headers,
    });
  }

  private async onInitError(ex: Exchange): Promise<void> {
    const { req, record } = ex;
    if (this.initErrorRecord !== undefined) {
      req.resume();
      this.sendError(ex, 403, 'InvalidStateTransition', 'an init error was already posted');
      return;
    }
    const read = await this.readLimited(ex);
    if (read === undefined || this.initErrorRecord !== undefined) return;
    const error = parseErrorDocument(read);
    const initError: InitErrorRecord = {
      errorType: errorTypeOf(req, error),
      error,
      body: read,
      headers: req.headers,
      receivedAt: record.receivedAt,
    };
    this.initErrorRecord = initError;
    this.send(ex, 202, { status: 'OK' });
    const queued = this.queue.splice(0);
    for (const invocation of queued) this.finish(invocation, 'completed', initErrorFields(initError));
    this.notify();
  }

  /** Reads a buffered body, answering 413 past the limit; undefined when it was refused or cut. */
  private async readLimited(ex: Exchange): Promise<Buffer | undefined> {
    const { req, record } = ex;
    const limit = this.maxResponseBytes;
    const refuse = (): void =>
      this.sendError(ex, 413, 'RequestEntityTooLarge', `Exceeded maximum allowed payload size (${limit} bytes).`);
    if (Number(header(req, 'content-length') ?? 0) > limit) {
      req.resume();
      refuse();
      return undefined;
    }
    const read = await readBody(req, limit, { onOverflow: refuse });
    record.body = read.body;
    return read.overflow || !read.complete ? undefined : read.body;
  }

  private async onRegister(ex: Exchange): Promise<void> {
    const { req, record } = ex;
    const read = await readBody(req, this.maxResponseBytes, {});
    record.body = read.body;
    const name = header(req, 'lambda-extension-name');
    if (name === undefined || name === '') {
      this.sendError(ex, 403, 'Extension.MissingHeader', 'missing Lambda-Extension-Name header');
      return;
    }
    let events: unknown;
    try {
      events = (JSON.parse(read.body.toString('utf8')) as { events?: unknown }).events ?? [];
    } catch {
      this.sendError(ex, 403, 'InvalidRequestFormat', 'the body is not JSON');
      return;
    }
    if (!Array.isArray(events) || !events.every((e): e is ExtensionEventType => e === 'INVOKE' || e === 'SHUTDOWN')) {
      this.sendError(ex, 403, 'Extension.InvalidEventType', `invalid events ${JSON.stringify(events)}`);
      return;
    }
    const info: RegisteredExtension = { name, id: randomUUID(), events, registeredAt: Date.now() };
    this.extensionSlots.push({ info, queue: [], polls: [] });
    const answer: Record<string, string> = {
      functionName: this.functionName,
      functionVersion: this.functionVersion,
      handler: this.handler,
    };
    if ((header(req, 'lambda-extension-accept-feature') ?? '').includes('accountId')) {
      answer.accountId = this.accountId;
    }
    this.send(ex, 200, answer, { 'Lambda-Extension-Identifier': info.id });
    this.notify();
  }

  private onExtensionNext(ex: Exchange): void {
    ex.req.resume();
    const slot = this.extensionFor(ex);
    if (slot === undefined) return;
    slot.polls.push(ex);
    ex.res.on('close', () => {
      const index = slot.polls.indexOf(ex);
      if (index >= 0) slot.polls.splice(index, 1);
    });
    this.flushExtension(slot);
  }

  private async onExtensionError(ex: Exchange): Promise<void> {
    const { req, record } = ex;
    const read = await readBody(req, this.maxResponseBytes, {});
    record.body = read.body;
    if (this.extensionFor(ex) === undefined) return;
    this.send(ex, 202, { status: 'OK' });
  }

  private extensionFor(ex: Exchange): ExtensionSlot | undefined {
    const id = header(ex.req, 'lambda-extension-identifier');
    if (id === undefined || id === '') {
      this.sendError(ex, 403, 'Extension.MissingHeader', 'missing Lambda-Extension-Identifier header');
      return undefined;
    }
    const slot = this.extensionSlots.find((s) => s.info.id === id.toLowerCase());
    if (slot === undefined) {
      this.sendError(ex, 403, 'Extension.UnknownExtensionIdentifier', `Unknown extension ${id}`);
    }
    return slot;
  }

  private sendExtensionEvent(slot: ExtensionSlot, event: ExtensionEvent): void {
    slot.queue.push(event);
    this.flushExtension(slot);
  }

  private flushExtension(slot: ExtensionSlot): void {
    while (slot.queue.length > 0 && slot.polls.length > 0) {
      const poll = slot.polls.shift() as Exchange;
      if (poll.res.destroyed) continue;
      const event = slot.queue.shift() as ExtensionEvent;
      this.send(poll, 200, event, { 'Lambda-Extension-Event-Identifier': randomUUID() });
    }
  }

  /** The Runtime Interface Emulator's endpoint, shaped like Lambda's Invoke API. */
  private async onRieInvoke(ex: Exchange): Promise<void> {
    const { req, res, record } = ex;
    const read = await readBody(req, Number.POSITIVE_INFINITY, {});
    record.body = read.body;
    if (!read.complete) return;
    const invocationType = header(req, 'x-amz-invocation-type') ?? 'RequestResponse';
    if (invocationType === 'DryRun') {
      record.status = 204;
      res.writeHead(204).end();
      return;
    }
    const options: { rawBody: Buffer; clientContext?: string } = {
      // Lambda hands an empty payload to the runtime as an empty JSON object.
      rawBody: read.body.length === 0 ? Buffer.from('{}') : read.body,
    };
    const clientContext = header(req, 'x-amz-client-context');
    if (clientContext !== undefined) {
      options.clientContext = Buffer.from(clientContext, 'base64').toString('utf8');
    }
    if (invocationType === 'Event') {
      this.invoke(undefined, options).catch(() => {});
      record.status = 202;
      res.writeHead(202, { 'Content-Length': '0' }).end();
      return;
    }
    const result = await this.invoke(undefined, options);
    const headers: Record<string, string> = { 'X-Amz-Executed-Version': this.functionVersion };
    if (result.status === 'success') {
      headers['Content-Type'] = result.contentType ?? 'application/json';
      this.send(ex, 200, result.body, headers);
      return;
    }
    headers['X-Amz-Function-Error'] = 'Unhandled';
    // A stream that failed midway carries its error in the trailer, not in the body.
    const failedStream = result.streamed && result.error !== undefined;
    this.send(ex, 200, failedStream ? Buffer.from(JSON.stringify(result.error)) : result.body, headers);
  }
}

/**
 * Marks a promise's rejection as handled, so one nobody awaits (a fire-and-forget invoke in a
 * test) does not surface as an unhandled rejection when the server closes; awaiting it still
 * throws.
 */
function quietly<T>(promise: Promise<T>): Promise<T> {
  promise.catch(() => {});
  return promise;
}

function isDone(invocation: Invocation): boolean {
  return invocation.state === 'done';
}

function definedOnly(values: NodeJS.Dict<string>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [key, value] of Object.entries(values)) if (value !== undefined) out[key] = value;
  return out;
}

function header(req: IncomingMessage, name: string): string | undefined {
  const value = req.headers[name];
  return Array.isArray(value) ? value[0] : value;
}

function jsonHeader(value: object | string): string {
  return typeof value === 'string' ? value : JSON.stringify(value);
}

function errorDocument(errorType: string, errorMessage: string): ErrorDocument {
  return { errorType, errorMessage, stackTrace: [] };
}

/** Parses an error document leniently: any JSON object, with missing fields left empty. */
function parseErrorDocument(bytes: Buffer): ErrorDocument | undefined {
  let value: unknown;
  try {
    value = JSON.parse(bytes.toString('utf8'));
  } catch {
    return undefined;
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return undefined;
  const fields = value as Record<string, unknown>;
  return {
    errorType: typeof fields.errorType === 'string' ? fields.errorType : '',
    errorMessage: typeof fields.errorMessage === 'string' ? fields.errorMessage : '',
    stackTrace: Array.isArray(fields.stackTrace)
      ? fields.stackTrace.filter((line): line is string => typeof line === 'string')
      : [],
  };
}

function errorTypeOf(req: IncomingMessage, error: ErrorDocument | undefined): string {
  const fromHeader = header(req, ERROR_TYPE_HEADER);
  if (fromHeader !== undefined && fromHeader !== '') return fromHeader;
  return error?.errorType || 'Unhandled';
}

function initErrorFields(initError: InitErrorRecord): ResultFields {
  return {
    status: 'init-error',
    body: initError.body,
    errorType: initError.errorType,
    error: initError.error,
    contentType: initError.headers['content-type'],
    headers: initError.headers,
  };
}

/** Result fields for an outcome the platform decides, carrying Lambda's error document. */
function platformFailure(
  status: InvocationStatus,
  errorType: string,
  errorMessage: string,
  extra: Partial<ResultFields> = {},
): ResultFields {
  const error = errorDocument(errorType, errorMessage);
  return { ...extra, status, body: Buffer.from(JSON.stringify(error)), errorType, error };
}

function createResult(init: ResultInit): InvocationResult {
  const { body } = init;
  return {
    requestId: init.requestId,
    status: init.status,
    body,
    text: () => body.toString('utf8'),
    json: <T = unknown>(): T => JSON.parse(body.toString('utf8')) as T,
    errorType: init.errorType,
    error: init.error,
    streamed: init.streamed ?? false,
    contentType: init.contentType,
    chunks: init.chunks,
    trailers: init.trailers,
    headers: init.headers ?? {},
    durationMs: init.durationMs,
  };
}

/**
 * Reads a request body, keeping at most `limit` bytes. Past the limit it calls `onOverflow` once
 * and keeps draining without storing, so the connection can be reused.
 */
function readBody(
  req: IncomingMessage,
  limit: number,
  hooks: { readonly onChunk?: ((data: Buffer) => void) | undefined; readonly onOverflow?: () => void },
): Promise<BodyRead> {
  return new Promise((resolve) => {
    const parts: Buffer[] = [];
    let size = 0;
    let overflow = false;
    let ended = false;
    req.on('data', (data: Buffer) => {
      if (overflow) return;
      size += data.length;
      if (size > limit) {
        overflow = true;
        hooks.onOverflow?.();
        return;
      }
      parts.push(data);
      hooks.onChunk?.(data);
    });
    req.on('end', () => {
      ended = true;
      resolve({ body: Buffer.concat(parts), overflow, complete: true });
    });
    req.on('close', () => {
      if (!ended) resolve({ body: Buffer.concat(parts), overflow, complete: false });
    });
  });
}
