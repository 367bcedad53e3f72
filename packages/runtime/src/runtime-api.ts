import type { ContextHeaders } from './context.js';
import type { ErrorResponse } from './errors.js';
import { HttpConnection, isSendableFieldValue, type HttpRequestStream, type HttpResponse } from './http-client.js';

export type { ErrorResponse };

/**
 * One invocation, as answered by `GET /runtime/invocation/next`. Header values are decoded as
 * UTF-8; the request id is percent-encoded as UTF-8 in the paths of the posts.
 */
export interface Invocation extends ContextHeaders {
  /**
   * `Lambda-Runtime-Invocation-Id`, echoed on the response or error post when sent and when it
   * can be sent back as the bytes that came in (see {@link canEchoInvocationId}); otherwise the
   * post goes without it, so the result is never lost to a header the runtime cannot write.
   */
  readonly invocationId: string | undefined;
  /** The event, as sent. */
  readonly body: Buffer;
}

/**
 * What the Runtime API answered to a post: 202 when accepted; 400, 403, 410, 413, 500… are
 * returned as data, for the caller to decide. `body` is the Runtime API's answer, never ours.
 */
export interface PostOutcome {
  readonly status: number;
  readonly body: string;
}

/** A streamed response (`Lambda-Runtime-Function-Response-Mode: streaming`). */
export interface StreamingResponse {
  /** Sends one chunk; the first call sends the request head. Resolves once flushed. */
  write(chunk: Uint8Array): Promise<void>;
  /**
   * Ends the response. With `error`, the error type and the base64 of the JSON body are sent as
   * the `Lambda-Runtime-Function-Error-Type` / `-Body` trailers, marking the invocation failed.
   */
  end(error?: { errorTypeHeader: string; body: ErrorResponse }): Promise<PostOutcome>;
}

/** A Runtime API answer the runtime cannot go on from (`/next` not 200, or without a request id). */
export class RuntimeApiError extends Error {
  override readonly name = 'RuntimeApiError';
  /** HTTP status of the answer. */
  readonly status: number;
  /** Body of the answer, as text. */
  readonly body: string;
  constructor(message: string, status: number, body: string) {
    super(message);
    this.status = status;
    this.body = body;
  }
}

const BASE = '/2018-06-01/runtime';
const NEXT_PATH = `${BASE}/invocation/next`;
const INIT_ERROR_PATH = `${BASE}/init/error`;
// SnapStart only: the Runtime API serves these when AWS_LAMBDA_INITIALIZATION_TYPE=snap-start.
const RESTORE_NEXT_PATH = `${BASE}/restore/next`;
const RESTORE_ERROR_PATH = `${BASE}/restore/error`;

const ERROR_TYPE = 'Lambda-Runtime-Function-Error-Type';
const ERROR_BODY = 'Lambda-Runtime-Function-Error-Body';
const INVOCATION_ID = 'Lambda-Runtime-Invocation-Id';

/** Parses `host:port` or `[v6]:port` (port 80 when absent). */
function parseAddress(address: string): { host: string; port: number } {
  let host = address;
  let port = 80;
  const colon = address.lastIndexOf(':');
  const closing = address.lastIndexOf(']');
  if (colon > closing) {
    host = address.slice(0, colon);
    const digits = address.slice(colon + 1);
    port = Number(digits);
    if (digits === '' || !Number.isInteger(port) || port < 1 || port > 65535) {
      throw new TypeError(`invalid Runtime API address ${JSON.stringify(address)}`);
    }
  }
  if (host.startsWith('[') && host.endsWith(']')) host = host.slice(1, -1);
  if (host === '') throw new TypeError(`invalid Runtime API address ${JSON.stringify(address)}`);
  return { host, port };
}

/**
 * The error type goes in a header and usually comes from user code (`Function.${err.name}`):
 * anything that is not visible ASCII would make the post itself fail.
 */
function headerSafe(value: string): string {
  return /^[\x21-\x7e]*$/.test(value) ? value : value.replace(/[^\x21-\x7e]/g, '_');
}

/** As {@link headerSafe}, for a value where spaces are meaningful (a media type's parameters). */
function contentTypeSafe(value: string): string {
  return /^[\x20-\x7e]*$/.test(value) ? value : value.replace(/[^\x20-\x7e]/g, '_');
}

// The runtime's own copy: a handler that replaces JSON.stringify must not make its own failure
// unreportable (the process would exit as if the Runtime API were gone, losing the invocation).
const stringify = JSON.stringify;

function errorJson(error: ErrorResponse): string {
  // Only the three documented fields, whatever else the object carries.
  return stringify({ errorMessage: error.errorMessage, errorType: error.errorType, stackTrace: error.stackTrace });
}

/**
 * Whether `id` (a `Lambda-Runtime-Invocation-Id`) can be echoed byte for byte: it has no control
 * character and was valid UTF-8.
 */
export function canEchoInvocationId(id: string): boolean {
  return isSendableFieldValue(id);
}

function echo(headers: Record<string, string>, inv: Invocation): Record<string, string> {
  const id = inv.invocationId;
  if (id !== undefined && canEchoInvocationId(id)) headers[INVOCATION_ID] = id;
  return headers;
}

function outcome(res: HttpResponse): PostOutcome {
  return { status: res.status, body: res.body.toString('utf8') };
}

function invocationPath(inv: Invocation, what: 'response' | 'error'): string {
  return `${BASE}/invocation/${encodeURIComponent(inv.requestId)}/${what}`;
}

/**
 * Typed client of the Lambda Runtime API (version 2018-06-01) over one keep-alive connection;
 * one client per runtime loop. Non-2xx answers to posts are data ({@link PostOutcome}); a
 * non-200 `/next` throws {@link RuntimeApiError}; a lost connection rejects with the HTTP
 * client's `HttpClientError`. Bodies the client posts are never logged nor put in errors.
 */
export class RuntimeApiClient {
  readonly #http: HttpConnection;

  /** @param address `host:port`, as in `AWS_LAMBDA_RUNTIME_API`. */
  constructor(address: string) {
    const { host, port } = parseAddress(address);
    this.#http = new HttpConnection(host, port);
  }

  /** Opens the connection ahead of the first call ({@link HttpConnection.preconnect}). */
  preconnect(): void {
    this.#http.preconnect();
  }

  /** Waits (long-poll) for the next invocation. */
  async next(): Promise<Invocation> {
    const res = await this.#http.request({ method: 'GET', path: NEXT_PATH });
    const h = res.headers;
    if (res.status !== 200) {
      throw new RuntimeApiError(`/next answered ${res.status}`, res.status, res.body.toString('utf8'));
    }
    const requestId = h['lambda-runtime-aws-request-id'];
    if (requestId === undefined || requestId === '') {
      throw new RuntimeApiError('/next answered without Lambda-Runtime-Aws-Request-Id', res.status, '');
    }
    const deadline = h['lambda-runtime-deadline-ms'];
    const deadlineMs = deadline === undefined ? Number.NaN : Number(deadline);
    if (!Number.isSafeInteger(deadlineMs) || deadlineMs < 0) {
      throw new RuntimeApiError(
        `/next answered with an invalid Lambda-Runtime-Deadline-Ms ${JSON.stringify(deadline ?? null)}`,
        res.status,
        '',
      );
    }
    return {
      requestId,
      deadlineMs,
      invokedFunctionArn: h['lambda-runtime-invoked-function-arn'] ?? '',
      traceId: h['lambda-runtime-trace-id'],
      clientContext: h['lambda-runtime-client-context'],
      cognitoIdentity: h['lambda-runtime-cognito-identity'],
      tenantId: h['lambda-runtime-aws-tenant-id'],
      invocationId: h['lambda-runtime-invocation-id'],
      body: res.body,
    };
  }

  /** Posts the handler's result for `inv`. */
  async postResponse(inv: Invocation, body: string | Uint8Array): Promise<PostOutcome> {
    const headers = echo({}, inv);
    const res = await this.#http.request({ method: 'POST', path: invocationPath(inv, 'response'), headers, body });
    return outcome(res);
  }

  /** Reports that the handler failed for `inv`. `errorTypeHeader` is e.g. `Function.TypeError`. */
  async postError(inv: Invocation, error: ErrorResponse, errorTypeHeader: string): Promise<PostOutcome> {
    const headers = echo({ 'Content-Type': 'application/json', [ERROR_TYPE]: headerSafe(errorTypeHeader) }, inv);
    const res = await this.#http.request({
      method: 'POST',
      path: invocationPath(inv, 'error'),
      headers,
      body: errorJson(error),
    });
    return outcome(res);
  }

  /** Reports that initialisation failed; Lambda then ends the environment. */
  async postInitError(error: ErrorResponse, errorTypeHeader: string): Promise<PostOutcome> {
    const res = await this.#http.request({
      method: 'POST',
      path: INIT_ERROR_PATH,
      headers: { 'Content-Type': 'application/json', [ERROR_TYPE]: headerSafe(errorTypeHeader) },
      body: errorJson(error),
    });
    return outcome(res);
  }

  /**
   * SnapStart: tells Lambda init is done and waits (long-poll) until the snapshot was restored.
   * Throws {@link RuntimeApiError} unless the answer is 200.
   */
  async restoreNext(): Promise<void> {
    const res = await this.#http.request({ method: 'GET', path: RESTORE_NEXT_PATH });
    if (res.status !== 200) {
      throw new RuntimeApiError(`/restore/next answered ${res.status}`, res.status, res.body.toString('utf8'));
    }
  }

  /** SnapStart: reports that the after-restore hooks failed; Lambda then ends the environment. */
  async postRestoreError(error: ErrorResponse, errorTypeHeader: string): Promise<PostOutcome> {
    const res = await this.#http.request({
      method: 'POST',
      path: RESTORE_ERROR_PATH,
      headers: { 'Content-Type': 'application/json', [ERROR_TYPE]: headerSafe(errorTypeHeader) },
      body: errorJson(error),
    });
    return outcome(res);
  }

  /**
   * Starts a streamed response for `inv`. Nothing is sent until the first `write()` or `end()`.
   * A streamed post is not retried: if the connection drops, `write()`/`end()` reject.
   * Characters of `contentType` outside printable ASCII are replaced with `_`.
   */
  streamResponse(inv: Invocation, contentType: string): StreamingResponse {
    const headers = echo(
      { 'Lambda-Runtime-Function-Response-Mode': 'streaming', 'Content-Type': contentTypeSafe(contentType) },
      inv,
    );
    const stream: HttpRequestStream = this.#http.streamRequest({
      method: 'POST',
      path: invocationPath(inv, 'response'),
      headers,
      trailers: [ERROR_TYPE, ERROR_BODY],
    });
    return {
      write: (chunk) => stream.write(chunk),
      end: async (error) => {
        const res =
          error === undefined
            ? await stream.end()
            : await stream.end({
                [ERROR_TYPE]: headerSafe(error.errorTypeHeader),
                [ERROR_BODY]: Buffer.from(errorJson(error.body)).toString('base64'),
              });
        return outcome(res);
      },
    };
  }

  /** Closes the connection; a call in flight rejects. */
  close(): void {
    this.#http.close();
  }
}
