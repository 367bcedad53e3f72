import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { RecordingServer, type MutableCall } from './recording-server.js';
import { formatAmzDate, parseAuthorization, verifySignature, type StandInCredentials } from './sigv4-verifier.js';

/** A JSON value as it travels in an AWS JSON 1.1 request or response body. */
export type JsonValue = string | number | boolean | null | JsonValue[] | JsonObject;

/** A JSON object: the shape of every AWS JSON 1.1 request and response body. */
export interface JsonObject {
  [key: string]: JsonValue;
}

/**
 * An error an operation handler throws to answer with an AWS error response:
 * `{"__type": code, "message": message}` plus the `x-amzn-errortype` header.
 */
export class AwsServiceError extends Error {
  /** The AWS error code, e.g. `ResourceNotFoundException`; the SDK uses it as the error's `name`. */
  readonly code: string;
  /** HTTP status: 400 for client faults, 5xx for service faults. */
  readonly statusCode: number;

  /**
   * @param code - AWS error code sent as `__type` and `x-amzn-errortype`.
   * @param message - Human-readable message; must never contain secret values or plaintext.
   * @param statusCode - HTTP status, 400 unless a service fault.
   */
  constructor(code: string, message: string, statusCode = 400) {
    super(message);
    this.name = code;
    this.code = code;
    this.statusCode = statusCode;
  }
}

/** One request received by a stand-in. */
export interface RecordedCall {
  /** Operation name from `X-Amz-Target`, e.g. `GetSecretValue`. */
  readonly operation: string;
  /** The request body, with secret values and plaintext replaced by `"[redacted]"`. */
  readonly input: JsonObject;
  /** Arrival time, milliseconds since the epoch. */
  readonly at: number;
  /** The error code answered, or `undefined` while in flight or when the call succeeded. */
  readonly errorCode: string | undefined;
  /** The `User-Agent` header: tells which client sent the request. */
  readonly userAgent: string | undefined;
}

/** Kinds of fault {@link AwsJsonStandIn.injectFault} can inject. */
export type FaultKind = 'throttle' | 'server-error' | 'access-denied' | 'hang' | 'signature-expired' | 'repeat-next-token';

/** A fault to answer instead of running the operation. */
export interface FaultSpec {
  /** Only calls of this operation fail; every operation when omitted. */
  readonly operation?: string;
  /**
   * `throttle`: 400 `ThrottlingException`, which the SDK retries as throttling.
   * `server-error`: 500 with the service's internal error code, which the SDK retries as transient.
   * `access-denied`: 400 `AccessDeniedException`, not retried.
   * `hang`: accepts the request and never answers (until {@link AwsJsonStandIn.close}).
   * `signature-expired`: 400 `InvalidSignatureException` "Signature expired", as AWS answers a
   * request signed more than 15 minutes ago (e.g. signed before a freeze, sent after a thaw).
   * `repeat-next-token`: answers only a `NextToken`, the same every time (a service paging
   * forever without delivering).
   */
  readonly kind: FaultKind;
  /** How many matching requests fail (each SDK retry is a request); 1 when omitted, `Infinity` for every one. */
  readonly times?: number;
}

/** What every JSON 1.1 stand-in offers tests beyond its AWS operations. */
export interface AwsJsonStandIn {
  /** Base URL to pass as the SDK client's `endpoint`, e.g. `http://127.0.0.1:41234`. */
  readonly url: string;
  /** Requests received so far, oldest first (a snapshot). */
  readonly calls: readonly RecordedCall[];
  /** Number of requests received, for one operation or for all. */
  callCount(operation?: string): number;
  /** Forgets the recorded requests. */
  resetCalls(): void;
  /** Delays every following request by `ms` before answering (0 to stop). */
  setLatency(ms: number): void;
  /** Makes the next matching request(s) fail; faults queue up and are consumed in order. */
  injectFault(fault: FaultSpec): void;
  /** Drops faults not yet consumed. */
  clearFaults(): void;
  /** Answers `AccessDeniedException` to every call of `operation` until {@link AwsJsonStandIn.allow}. */
  deny(operation: string): void;
  /** Undoes {@link AwsJsonStandIn.deny}. */
  allow(operation: string): void;
  /**
   * Accepts requests signed with these dummy credentials too (another role, or the credentials a
   * restored SnapStart environment gets); turns signature verification on if it was off.
   */
  acceptCredentials(credentials: StandInCredentials): void;
  /** Stops listening and drops open connections. */
  close(): Promise<void>;
}

/** Per-request facts handed to an operation handler. */
export interface RequestContext {
  /** Operation name from `X-Amz-Target`. */
  readonly operation: string;
  /** Access key id from the SigV4 credential scope. */
  readonly accessKeyId: string;
}

/** Runs one AWS operation; throws {@link AwsServiceError} to answer with an AWS error. */
export type OperationHandler = (input: JsonObject, context: RequestContext) => JsonObject | Promise<JsonObject>;

/** Static description of a JSON 1.1 service. */
export interface AwsJsonServiceOptions {
  /** `X-Amz-Target` prefix, e.g. `secretsmanager` or `TrentService`. */
  readonly targetPrefix: string;
  /** IAM action prefix used in access-denied messages, e.g. `secretsmanager` or `kms`. */
  readonly iamPrefix: string;
  /** Error code of the service's modelled 500 fault, e.g. `InternalServiceError`. */
  readonly serverErrorCode: string;
  /** Account id used in access-denied messages. */
  readonly accountId: string;
  /** SigV4 signing name, e.g. `secretsmanager` or `kms`. */
  readonly signingName: string;
  /** Region requests must be signed for (when `credentials` are given). */
  readonly region: string;
  /** Credentials to verify signatures with; without them only the header's form is checked. */
  readonly credentials: StandInCredentials | undefined;
}

/** Request body cap; real services reject far smaller bodies, this only guards the process. */
const MAX_BODY_BYTES = 1024 * 1024;

/** Top-level request members never kept in {@link RecordedCall.input}. */
const SENSITIVE_MEMBERS = new Set(['SecretString', 'SecretBinary', 'Plaintext', 'Value']);

const JSON_CONTENT_TYPE = 'application/x-amz-json-1.1';
/** The `NextToken` of the `repeat-next-token` fault. */
const REPEATED_TOKEN = 'stand-in-repeated-next-token';

interface PendingFault {
  readonly operation: string | undefined;
  readonly kind: FaultKind;
  remaining: number;
}

/**
 * The HTTP side shared by the JSON 1.1 stand-ins: dispatch on `X-Amz-Target`, AWS error
 * responses, call recording, latency and fault injection. Subclasses register operations.
 */
export abstract class AwsJsonServer implements AwsJsonStandIn {
  readonly #service: AwsJsonServiceOptions;
  readonly #operations = new Map<string, OperationHandler>();
  readonly #http = new RecordingServer((req, res) => this.#handle(req, res));
  readonly #faults: PendingFault[] = [];
  readonly #denied = new Set<string>();
  readonly #timers = new Set<NodeJS.Timeout>();
  // By access key id; empty: signatures are not verified.
  readonly #credentials = new Map<string, StandInCredentials>();
  #latencyMs = 0;

  /** @param service - Target prefix, IAM prefix and fault codes of the service. */
  protected constructor(service: AwsJsonServiceOptions) {
    this.#service = service;
    if (service.credentials !== undefined) this.acceptCredentials(service.credentials);
  }

  /** {@inheritDoc AwsJsonStandIn.acceptCredentials} */
  acceptCredentials(credentials: StandInCredentials): void {
    this.#credentials.set(credentials.accessKeyId, { ...credentials });
  }

  /** Registers the handler for `operation` (the part after the dot in `X-Amz-Target`). */
  protected register(operation: string, handler: OperationHandler): void {
    this.#operations.set(operation, handler);
  }

  /** Binds to 127.0.0.1 on a free port. */
  listen(): Promise<void> {
    return this.#http.listen();
  }

  /** {@inheritDoc AwsJsonStandIn.url} */
  get url(): string {
    return this.#http.url;
  }

  /** {@inheritDoc AwsJsonStandIn.calls} */
  get calls(): readonly RecordedCall[] {
    return this.#http.calls;
  }

  /** {@inheritDoc AwsJsonStandIn.callCount} */
  callCount(operation?: string): number {
    return this.#http.callCount(operation);
  }

  /** {@inheritDoc AwsJsonStandIn.resetCalls} */
  resetCalls(): void {
    this.#http.resetCalls();
  }

  /** {@inheritDoc AwsJsonStandIn.setLatency} */
  setLatency(ms: number): void {
    if (!Number.isFinite(ms) || ms < 0) throw new RangeError(`latency must be a finite number >= 0, got ${ms}`);
    this.#latencyMs = ms;
  }

  /** {@inheritDoc AwsJsonStandIn.injectFault} */
  injectFault(fault: FaultSpec): void {
    const times = fault.times ?? 1;
    if (!(times >= 1)) throw new RangeError(`fault times must be >= 1, got ${times}`);
    this.#faults.push({ operation: fault.operation, kind: fault.kind, remaining: times });
  }

  /** {@inheritDoc AwsJsonStandIn.clearFaults} */
  clearFaults(): void {
    this.#faults.length = 0;
  }

  /** {@inheritDoc AwsJsonStandIn.deny} */
  deny(operation: string): void {
    this.#denied.add(operation);
  }

  /** {@inheritDoc AwsJsonStandIn.allow} */
  allow(operation: string): void {
    this.#denied.delete(operation);
  }

  /** {@inheritDoc AwsJsonStandIn.close} */
  async close(): Promise<void> {
    for (const timer of this.#timers) clearTimeout(timer);
    this.#timers.clear();
    await this.#http.close();
  }

  /** The `AccessDeniedException` a real service answers when IAM denies `operation` on `resource`. */
  protected accessDenied(operation: string, resource = '*'): AwsServiceError {
    const { accountId, iamPrefix } = this.#service;
    return new AwsServiceError(
      'AccessDeniedException',
      `User: arn:aws:sts::${accountId}:assumed-role/local-stand-in/test is not authorized to perform: ` +
        `${iamPrefix}:${operation} on resource: ${resource} because no identity-based policy allows the ` +
        `${iamPrefix}:${operation} action`,
    );
  }

  async #handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    let call: MutableCall | undefined;
    try {
      const body = await readBody(req);
      if (req.method !== 'POST' || (req.url ?? '/') !== '/') {
        throw new AwsServiceError('UnknownOperationException', `${req.method ?? ''} ${req.url ?? ''} is not an operation`);
      }
      const operation = this.#operationOf(req);
      let input: JsonObject = {};
      let parseError: AwsServiceError | undefined;
      try {
        input = parseInput(body);
      } catch (error) {
        parseError = error instanceof AwsServiceError ? error : new AwsServiceError('SerializationException', 'Malformed JSON');
      }
      call = this.#http.record(operation, redact(input), req.headers['user-agent']);

      const accessKeyId = this.#checkSignature(req, body);
      if (this.#latencyMs > 0) await this.#sleep(this.#latencyMs);
      if (parseError !== undefined) throw parseError;
      const fault = this.#takeFault(operation);
      if (fault === 'hang') return; // the socket stays open, unanswered, until close()
      if (this.#denied.has(operation)) throw this.accessDenied(operation);
      const handler = this.#operations.get(operation);
      if (handler === undefined) {
        throw new AwsServiceError('UnknownOperationException', `${operation} is not supported by this stand-in`);
      }
      // A service paging forever: nothing but the same NextToken, every time.
      if (fault === 'repeat-next-token') return send(res, 200, { NextToken: REPEATED_TOKEN });
      const output = await handler(input, { operation, accessKeyId });
      send(res, 200, output);
    } catch (error) {
      const failure =
        error instanceof AwsServiceError
          ? error
          : new AwsServiceError(this.#service.serverErrorCode, `stand-in failure: ${describe(error)}`, 500);
      if (call !== undefined) call.errorCode = failure.code;
      send(res, failure.statusCode, { __type: failure.code, message: failure.message }, failure.code);
    }
  }

  #operationOf(req: IncomingMessage): string {
    const target = req.headers['x-amz-target'];
    const prefix = `${this.#service.targetPrefix}.`;
    if (typeof target !== 'string' || !target.startsWith(prefix) || target.length === prefix.length) {
      throw new AwsServiceError('UnknownOperationException', 'X-Amz-Target is missing or names another service');
    }
    return target.slice(prefix.length);
  }

  #checkSignature(req: IncomingMessage, body: Buffer): string {
    const { region, signingName } = this.#service;
    const check =
      this.#credentials.size === 0
        ? parseAuthorization(req.headers)
        : verifySignature(
            { method: req.method ?? '', url: req.url ?? '/', headers: req.headers, body },
            { region, service: signingName },
            (accessKeyId) => this.#credentials.get(accessKeyId),
          );
    if (!check.ok) throw new AwsServiceError(check.code, check.message);
    return check.accessKeyId;
  }

  /** Throws the fault's error, or returns a fault that changes the answer instead. */
  #takeFault(operation: string): 'hang' | 'repeat-next-token' | undefined {
    const index = this.#faults.findIndex((fault) => fault.operation === undefined || fault.operation === operation);
    if (index < 0) return undefined;
    const fault = this.#faults[index]!;
    fault.remaining -= 1;
    if (fault.remaining <= 0) this.#faults.splice(index, 1);
    switch (fault.kind) {
      case 'throttle':
        throw new AwsServiceError('ThrottlingException', 'Rate exceeded');
      case 'server-error':
        throw new AwsServiceError(this.#service.serverErrorCode, 'An error occurred on the server side (injected).', 500);
      case 'access-denied':
        throw this.accessDenied(operation);
      case 'signature-expired': {
        const now = Date.now();
        throw new AwsServiceError(
          'InvalidSignatureException',
          `Signature expired: ${formatAmzDate(now - 20 * 60_000)} is now earlier than ${formatAmzDate(now - 15 * 60_000)} (${formatAmzDate(now)} - 15 min.)`,
        );
      }
      case 'hang':
      case 'repeat-next-token':
        return fault.kind;
    }
  }

  #sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.#timers.delete(timer);
        resolve();
      }, ms);
      // A pending delay must not keep the process alive once the server is closed.
      timer.unref();
      this.#timers.add(timer);
    });
  }
}

function readBody(req: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size <= MAX_BODY_BYTES) chunks.push(chunk);
    });
    req.on('end', () => {
      if (size > MAX_BODY_BYTES) reject(new AwsServiceError('RequestEntityTooLargeException', 'Request body is too large', 413));
      else resolve(Buffer.concat(chunks));
    });
    req.on('error', reject);
  });
}

function parseInput(body: Buffer): JsonObject {
  if (body.length === 0) return {};
  let parsed: unknown;
  try {
    parsed = JSON.parse(body.toString('utf8'));
  } catch {
    throw new AwsServiceError('SerializationException', 'Malformed JSON in the request body');
  }
  if (!isJsonObject(parsed)) throw new AwsServiceError('SerializationException', 'The request body must be a JSON object');
  return parsed;
}

function redact(input: JsonObject): JsonObject {
  const copy: JsonObject = {};
  for (const [key, value] of Object.entries(input)) copy[key] = SENSITIVE_MEMBERS.has(key) ? '[redacted]' : value;
  return copy;
}

function send(res: ServerResponse, status: number, body: JsonObject, errorType?: string): void {
  if (res.writableEnded || res.destroyed) return;
  const payload = JSON.stringify(body);
  const headers: Record<string, string | number> = {
    'content-type': JSON_CONTENT_TYPE,
    'content-length': Buffer.byteLength(payload),
    'x-amzn-requestid': randomUUID(),
  };
  if (errorType !== undefined) headers['x-amzn-errortype'] = errorType;
  res.writeHead(status, headers);
  res.end(payload);
}

function describe(error: unknown): string {
  return error instanceof Error ? error.message : 'non-Error thrown';
}

/** True for a plain JSON object (not an array or null). */
export function isJsonObject(value: unknown): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** The member `name` when it is a string; `undefined` when absent; `SerializationException` otherwise. */
export function optionalString(input: JsonObject, name: string): string | undefined {
  const value = input[name];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'string') throw new AwsServiceError('SerializationException', `${name} must be a string`);
  return value;
}

/** The member `name`, which must be a non-empty string, else `ValidationException` as AWS answers. */
export function requireString(input: JsonObject, name: string): string {
  const value = optionalString(input, name);
  if (value === undefined || value === '') {
    throw new AwsServiceError(
      'ValidationException',
      `1 validation error detected: Value null at '${lowerFirst(name)}' failed to satisfy constraint: Member must not be null`,
    );
  }
  return value;
}

/** The member `name` when it is a boolean; `undefined` when absent. */
export function optionalBoolean(input: JsonObject, name: string): boolean | undefined {
  const value = input[name];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'boolean') throw new AwsServiceError('SerializationException', `${name} must be a boolean`);
  return value;
}

/** The member `name` when it is a number; `undefined` when absent. */
export function optionalNumber(input: JsonObject, name: string): number | undefined {
  const value = input[name];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'number') throw new AwsServiceError('SerializationException', `${name} must be a number`);
  return value;
}

/** The member `name` when it is a list of strings; `undefined` when absent. */
export function optionalStringList(input: JsonObject, name: string): string[] | undefined {
  const value = input[name];
  if (value === undefined || value === null) return undefined;
  if (!Array.isArray(value) || !value.every((item) => typeof item === 'string')) {
    throw new AwsServiceError('SerializationException', `${name} must be a list of strings`);
  }
  return value as string[];
}

/** The member `name` when it is a string-to-string map; `undefined` when absent. */
export function optionalStringMap(input: JsonObject, name: string): Record<string, string> | undefined {
  const value = input[name];
  if (value === undefined || value === null) return undefined;
  if (!isJsonObject(value) || !Object.values(value).every((item) => typeof item === 'string')) {
    throw new AwsServiceError('SerializationException', `${name} must be a map of strings`);
  }
  return value as Record<string, string>;
}

/** The blob member `name` (base64 on the wire) decoded; `undefined` when absent. */
export function optionalBlob(input: JsonObject, name: string): Buffer | undefined {
  const value = optionalString(input, name);
  if (value === undefined) return undefined;
  // Buffer.from silently skips invalid characters; a real service rejects them.
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(value) || value.length % 4 !== 0) {
    throw new AwsServiceError('SerializationException', `${name} is not valid base64`);
  }
  return Buffer.from(value, 'base64');
}

/** A `ValidationException` in the wording AWS uses for a length constraint. */
export function lengthError(member: string, bound: 'greater than or equal to' | 'less than or equal to', limit: number): AwsServiceError {
  return new AwsServiceError(
    'ValidationException',
    `1 validation error detected: Value at '${lowerFirst(member)}' failed to satisfy constraint: ` +
      `Member must have length ${bound} ${limit}`,
  );
}

/** Epoch seconds with millisecond precision: the JSON protocols' timestamp format. */
export function epochSeconds(date: Date): number {
  return date.getTime() / 1000;
}

function lowerFirst(name: string): string {
  return name.charAt(0).toLowerCase() + name.slice(1);
}
