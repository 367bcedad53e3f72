import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { RecordingServer, type MutableCall } from './recording-server.js';
import {
  AwsServiceError,
  isJsonObject,
  optionalNumber,
  optionalString,
  optionalStringMap,
  type JsonObject,
  type RecordedCall,
} from './aws-json-server.js';

/** Options for {@link startLambdaControlPlane}. */
export interface LambdaControlPlaneOptions {
  /** Region in the functions' ARNs; `us-east-1` when omitted. */
  readonly region?: string;
  /** Account id in the functions' ARNs; `123456789012` when omitted. */
  readonly accountId?: string;
  /**
   * How long an update stays `LastUpdateStatus: InProgress`; another update meanwhile answers
   * 409 `ResourceConflictException`, as Lambda does. 0 (the default) completes updates at once.
   */
  readonly updateSettleMs?: number;
}

/** What Lambda reports in `Environment.Error` when it cannot show a function's variables. */
export interface LambdaEnvironmentError {
  /** E.g. `AccessDeniedException` when Lambda may not use the function's KMS key. */
  readonly errorCode: string;
  /** The service's message. */
  readonly message: string;
}

/** The configuration a function is created with by {@link LambdaControlPlaneStandIn.createFunction}. */
export interface LambdaFunctionSpec {
  /** Environment variables; none when omitted. */
  readonly environment?: Readonly<Record<string, string>>;
  /** Customer managed key for the variables at rest; the service key when omitted. */
  readonly kmsKeyArn?: string;
  /** MB, 128 when omitted. */
  readonly memorySize?: number;
  /** Seconds, 3 when omitted. */
  readonly timeout?: number;
  /** Empty when omitted. */
  readonly description?: string;
  /** Execution role ARN; `arn:aws:iam::ACCOUNT:role/NAME-role` when omitted. */
  readonly role?: string;
  /**
   * Makes the function report `Environment.Error` instead of its variables, as Lambda does when
   * it cannot decrypt them; cleared by the next update that sets `Environment`.
   */
  readonly environmentError?: LambdaEnvironmentError;
}

/** A function as created by {@link LambdaControlPlaneStandIn.createFunction}. */
export interface CreatedLambdaFunction {
  /** `arn:aws:lambda:REGION:ACCOUNT:function:NAME`. */
  readonly functionArn: string;
  /** The revision an update must name to succeed. */
  readonly revisionId: string;
}

/** A function's state as the stand-in holds it: what tests assert on. */
export interface LambdaFunctionState {
  /** The function's name. */
  readonly functionName: string;
  /** `arn:aws:lambda:REGION:ACCOUNT:function:NAME`. */
  readonly functionArn: string;
  /** A copy of the variables as stored (the stand-in never records or logs them). */
  readonly environment: Readonly<Record<string, string>>;
  /** Customer managed key for the variables, `undefined` for the service key. */
  readonly kmsKeyArn: string | undefined;
  /** The current revision. */
  readonly revisionId: string;
  /** MB. */
  readonly memorySize: number;
  /** Seconds. */
  readonly timeout: number;
  /** The function's description. */
  readonly description: string;
  /** Successful `UpdateFunctionConfiguration` calls so far. */
  readonly updateCount: number;
}

/**
 * A local Lambda control plane speaking Lambda's REST-JSON protocol, for tests and development
 * only: `GetFunctionConfiguration` (`GET /2015-03-31/functions/{FunctionName}/configuration`)
 * and `UpdateFunctionConfiguration` (`PUT` on the same path), so the real
 * `@aws-sdk/client-lambda` works against {@link LambdaControlPlaneStandIn.url}.
 *
 * An update replaces `Environment.Variables` as a whole, as Lambda does: a variable not named is
 * removed. A `RevisionId` that is not the current one answers 412 `PreconditionFailedException`;
 * every successful update issues a new revision. `FunctionName` may be a name, a full or partial
 * ARN, optionally qualified with `$LATEST` (the only version there is). The helpers below change
 * state directly and are not recorded as calls.
 */
export interface LambdaControlPlaneStandIn {
  /** Base URL to pass as the SDK client's `endpoint`, e.g. `http://127.0.0.1:41234`. */
  readonly url: string;
  /** Region in ARNs. */
  readonly region: string;
  /** Account id in ARNs. */
  readonly accountId: string;
  /** Requests received so far, oldest first; variable values are recorded as `"[redacted]"`. */
  readonly calls: readonly RecordedCall[];
  /** Number of requests received, for one operation or for all. */
  callCount(operation?: string): number;
  /** Forgets the recorded requests. */
  resetCalls(): void;
  /** Creates a container-image function (`PackageType: Image`, `State: Active`). */
  createFunction(name: string, spec?: LambdaFunctionSpec): CreatedLambdaFunction;
  /** The function's current state, or `undefined` when there is none by that name or ARN. */
  getFunction(name: string): LambdaFunctionState | undefined;
  /**
   * Simulates a change made by someone else: merges `variables` (if any) into the function's
   * environment and issues a new revision, which makes an update holding the old one fail.
   * Returns the new revision id.
   */
  touch(name: string, variables?: Readonly<Record<string, string>>): string;
  /** Stops listening and drops open connections. */
  close(): Promise<void>;
}

/** Starts a Lambda control-plane stand-in on 127.0.0.1 and a free port. */
export async function startLambdaControlPlane(options: LambdaControlPlaneOptions = {}): Promise<LambdaControlPlaneStandIn> {
  const settle = options.updateSettleMs ?? 0;
  if (!Number.isFinite(settle) || settle < 0) throw new RangeError(`updateSettleMs must be a finite number >= 0, got ${settle}`);
  const server = new LambdaControlPlane(options.region ?? 'us-east-1', options.accountId ?? '123456789012', settle);
  await server.listen();
  return server;
}

const GET_CONFIGURATION = 'GetFunctionConfiguration';
const UPDATE_CONFIGURATION = 'UpdateFunctionConfiguration';
const CONFIGURATION_PATH = /^\/2015-03-31\/functions\/([^/]+)\/configuration$/;
const FUNCTION_ID =
  /^(?:arn:aws[a-zA-Z-]*:lambda:[a-z]{2}(?:-gov)?-[a-z]+-\d:)?(?:(\d{12}):)?(?:function:)?([a-zA-Z0-9_-]+)(?::(\$LATEST|[a-zA-Z0-9_-]+))?$/;
const NAME_PATTERN = /^[a-zA-Z0-9_-]{1,64}$/;
const KEY_PATTERN = /^[a-zA-Z][a-zA-Z0-9_]+$/;
/** Lambda's documented reserved keys; the service rejects them in a function's configuration. */
const RESERVED_KEYS = new Set([
  '_HANDLER',
  '_X_AMZN_TRACE_ID',
  'AWS_REGION',
  'AWS_DEFAULT_REGION',
  'AWS_EXECUTION_ENV',
  'AWS_LAMBDA_FUNCTION_NAME',
  'AWS_LAMBDA_FUNCTION_MEMORY_SIZE',
  'AWS_LAMBDA_FUNCTION_VERSION',
  'AWS_LAMBDA_INITIALIZATION_TYPE',
  'AWS_LAMBDA_LOG_GROUP_NAME',
  'AWS_LAMBDA_LOG_STREAM_NAME',
  'AWS_LAMBDA_RUNTIME_API',
  'AWS_ACCESS_KEY',
  'AWS_ACCESS_KEY_ID',
  'AWS_SECRET_ACCESS_KEY',
  'AWS_SESSION_TOKEN',
  'LAMBDA_TASK_ROOT',
  'LAMBDA_RUNTIME_DIR',
  'TZ',
]);
/** Lambda's cap on the variables of one function, measured on their JSON. */
const MAX_ENVIRONMENT_BYTES = 4096;
const MAX_BODY_BYTES = 256 * 1024;

interface LambdaFunction {
  readonly name: string;
  readonly arn: string;
  readonly role: string;
  variables: Record<string, string>;
  kmsKeyArn: string | undefined;
  environmentError: LambdaEnvironmentError | undefined;
  memorySize: number;
  timeout: number;
  description: string;
  revisionId: string;
  lastModified: Date;
  updateCount: number;
}


class LambdaControlPlane implements LambdaControlPlaneStandIn {
  readonly region: string;
  readonly accountId: string;
  readonly #settleMs: number;
  readonly #functions = new Map<string, LambdaFunction>();
  readonly #http = new RecordingServer((req, res) => this.#handle(req, res));

  constructor(region: string, accountId: string, settleMs: number) {
    this.region = region;
    this.accountId = accountId;
    this.#settleMs = settleMs;
  }

  listen(): Promise<void> {
    return this.#http.listen();
  }

  get url(): string {
    return this.#http.url;
  }

  get calls(): readonly RecordedCall[] {
    return this.#http.calls;
  }

  callCount(operation?: string): number {
    return this.#http.callCount(operation);
  }

  resetCalls(): void {
    this.#http.resetCalls();
  }

  createFunction(name: string, spec: LambdaFunctionSpec = {}): CreatedLambdaFunction {
    if (!NAME_PATTERN.test(name)) {
      throw new AwsServiceError('ValidationException', `Function name must be 1 to 64 letters, digits, hyphens or underscores: ${name}`);
    }
    const arn = `arn:aws:lambda:${this.region}:${this.accountId}:function:${name}`;
    if (this.#functions.has(name)) throw new AwsServiceError('ResourceConflictException', `Function already exist: ${arn}`, 409);
    const variables = { ...spec.environment };
    checkVariables(variables);
    const fn: LambdaFunction = {
      name,
      arn,
      role: spec.role ?? `arn:aws:iam::${this.accountId}:role/${name}-role`,
      variables,
      kmsKeyArn: spec.kmsKeyArn,
      environmentError: spec.environmentError,
      memorySize: spec.memorySize ?? 128,
      timeout: spec.timeout ?? 3,
      description: spec.description ?? '',
      revisionId: randomUUID(),
      lastModified: new Date(),
      updateCount: 0,
    };
    this.#functions.set(name, fn);
    return { functionArn: arn, revisionId: fn.revisionId };
  }

  getFunction(name: string): LambdaFunctionState | undefined {
    const fn = this.#find(name);
    if (fn === undefined) return undefined;
    return {
      functionName: fn.name,
      functionArn: fn.arn,
      environment: { ...fn.variables },
      kmsKeyArn: fn.kmsKeyArn,
      revisionId: fn.revisionId,
      memorySize: fn.memorySize,
      timeout: fn.timeout,
      description: fn.description,
      updateCount: fn.updateCount,
    };
  }

  touch(name: string, variables: Readonly<Record<string, string>> = {}): string {
    const fn = this.#find(name);
    if (fn === undefined) throw new Error(`no function named ${name}`);
    const merged = { ...fn.variables, ...variables };
    checkVariables(merged);
    fn.variables = merged;
    fn.revisionId = randomUUID();
    fn.lastModified = new Date();
    return fn.revisionId;
  }

  close(): Promise<void> {
    return this.#http.close();
  }

  async #handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    let call: MutableCall | undefined;
    try {
      const body = await readJsonBody(req);
      const url = new URL(req.url ?? '/', 'http://stand-in');
      const match = CONFIGURATION_PATH.exec(url.pathname);
      const operation = req.method === 'GET' ? GET_CONFIGURATION : req.method === 'PUT' ? UPDATE_CONFIGURATION : undefined;
      if (match === null || operation === undefined) {
        throw new AwsServiceError('UnknownOperationException', `${req.method ?? ''} ${url.pathname} is not supported by this stand-in`, 404);
      }
      const functionId = decodeURIComponent(match[1]!);
      const qualifier = url.searchParams.get('Qualifier') ?? undefined;
      const input: JsonObject = { FunctionName: functionId, ...(qualifier === undefined ? {} : { Qualifier: qualifier }), ...body };
      call = this.#http.record(operation, redactVariables(input));
      requireSignature(req);
      const fn = this.#resolve(functionId, qualifier);
      if (operation === UPDATE_CONFIGURATION) this.#update(fn, body);
      send(res, 200, this.#configuration(fn));
    } catch (error) {
      const failure =
        error instanceof AwsServiceError ? error : new AwsServiceError('ServiceException', `stand-in failure: ${describe(error)}`, 500);
      if (call !== undefined) call.errorCode = failure.code;
      send(res, failure.statusCode, { Type: failure.statusCode >= 500 ? 'Service' : 'User', message: failure.message }, failure.code);
    }
  }

  #update(fn: LambdaFunction, input: JsonObject): void {
    const revisionId = optionalString(input, 'RevisionId');
    if (revisionId !== undefined && revisionId !== fn.revisionId) {
      throw new AwsServiceError(
        'PreconditionFailedException',
        'The Revision Id provided does not match the latest Revision Id. Call the GetFunction/GetAlias API to retrieve the latest Revision Id',
        412,
      );
    }
    if (this.#inProgress(fn)) {
      throw new AwsServiceError(
        'ResourceConflictException',
        `The operation cannot be performed at this time. An update is in progress for resource: ${fn.arn}`,
        409,
      );
    }
    const memorySize = optionalNumber(input, 'MemorySize');
    if (memorySize !== undefined) checkRange('memorySize', memorySize, 128, 10240);
    const timeout = optionalNumber(input, 'Timeout');
    if (timeout !== undefined) checkRange('timeout', timeout, 1, 900);
    const description = optionalString(input, 'Description');
    const kmsKeyArn = optionalString(input, 'KMSKeyArn');
    let variables: Record<string, string> | undefined;
    if (input.Environment !== undefined && input.Environment !== null) {
      if (!isJsonObject(input.Environment)) throw new AwsServiceError('SerializationException', 'Environment must be an object');
      // The whole map is replaced: whatever the request does not name is gone.
      variables = { ...optionalStringMap(input.Environment, 'Variables') };
      checkVariables(variables);
    }

    if (memorySize !== undefined) fn.memorySize = memorySize;
    if (timeout !== undefined) fn.timeout = timeout;
    if (description !== undefined) fn.description = description;
    // An empty KMSKeyArn goes back to the service key, as in the real API.
    if (kmsKeyArn !== undefined) fn.kmsKeyArn = kmsKeyArn === '' ? undefined : kmsKeyArn;
    if (variables !== undefined) {
      fn.variables = variables;
      fn.environmentError = undefined;
    }
    fn.revisionId = randomUUID();
    fn.lastModified = new Date();
    fn.updateCount += 1;
  }

  #inProgress(fn: LambdaFunction): boolean {
    return fn.updateCount > 0 && Date.now() < fn.lastModified.getTime() + this.#settleMs;
  }

  #configuration(fn: LambdaFunction): JsonObject {
    const hasVariables = Object.keys(fn.variables).length > 0;
    const environment: JsonObject | undefined =
      fn.environmentError !== undefined
        ? { Error: { ErrorCode: fn.environmentError.errorCode, Message: fn.environmentError.message } }
        : hasVariables
          ? { Variables: { ...fn.variables } }
          : undefined;
    return {
      FunctionName: fn.name,
      FunctionArn: fn.arn,
      Role: fn.role,
      CodeSize: 0,
      Description: fn.description,
      Timeout: fn.timeout,
      MemorySize: fn.memorySize,
      LastModified: lambdaTimestamp(fn.lastModified),
      CodeSha256: '',
      Version: '$LATEST',
      ...(environment === undefined ? {} : { Environment: environment }),
      ...(fn.kmsKeyArn === undefined ? {} : { KMSKeyArn: fn.kmsKeyArn }),
      TracingConfig: { Mode: 'PassThrough' },
      RevisionId: fn.revisionId,
      State: 'Active',
      LastUpdateStatus: this.#inProgress(fn) ? 'InProgress' : 'Successful',
      PackageType: 'Image',
      Architectures: ['x86_64'],
      EphemeralStorage: { Size: 512 },
      LoggingConfig: { LogFormat: 'Text', LogGroup: `/aws/lambda/${fn.name}` },
    };
  }

  #find(functionId: string): LambdaFunction | undefined {
    const match = FUNCTION_ID.exec(functionId);
    if (match === null) return undefined;
    const [, account, name] = match;
    if (account !== undefined && account !== this.accountId) return undefined;
    return this.#functions.get(name!);
  }

  #resolve(functionId: string, qualifier: string | undefined): LambdaFunction {
    const version = FUNCTION_ID.exec(functionId)?.[3] ?? qualifier;
    const fn = this.#find(functionId);
    if (fn === undefined || (version !== undefined && version !== '$LATEST')) {
      const name = FUNCTION_ID.exec(functionId)?.[2] ?? functionId;
      const arn = `arn:aws:lambda:${this.region}:${this.accountId}:function:${name}${version === undefined ? '' : `:${version}`}`;
      throw new AwsServiceError('ResourceNotFoundException', `Function not found: ${arn}`, 404);
    }
    return fn;
  }
}

/** Rejects what the real service rejects: bad keys, reserved keys, more than 4 KB. */
function checkVariables(variables: Readonly<Record<string, string>>): void {
  const keys = Object.keys(variables);
  if (!keys.every((key) => KEY_PATTERN.test(key))) {
    throw new AwsServiceError(
      'ValidationException',
      "1 validation error detected: Value at 'environment.variables' failed to satisfy constraint: " +
        'Map keys must satisfy constraint: [Member must satisfy regular expression pattern: [a-zA-Z]([a-zA-Z0-9_])+]',
    );
  }
  const reserved = keys.filter((key) => RESERVED_KEYS.has(key));
  if (reserved.length > 0) {
    throw new AwsServiceError(
      'InvalidParameterValueException',
      'Lambda was unable to configure your environment variables because the environment variables you have provided ' +
        `contains reserved keys that are currently not supported for modification. Reserved keys used in this request: ${reserved.join(',')}`,
    );
  }
  // The real message quotes the measured string, values included; a stand-in must not echo them.
  if (Buffer.byteLength(JSON.stringify(variables)) > MAX_ENVIRONMENT_BYTES) {
    throw new AwsServiceError(
      'InvalidParameterValueException',
      'Lambda was unable to configure your environment variables because the environment variables you have provided exceeded the 4KB limit.',
    );
  }
}

function checkRange(member: string, value: number, min: number, max: number): void {
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new AwsServiceError(
      'ValidationException',
      `1 validation error detected: Value '${value}' at '${member}' failed to satisfy constraint: ` +
        `Member must have value between ${min} and ${max}`,
    );
  }
}

/** A copy of the request with every variable value replaced, so recorded calls hold no secrets. */
function redactVariables(input: JsonObject): JsonObject {
  const environment = input.Environment;
  if (!isJsonObject(environment) || !isJsonObject(environment.Variables)) return input;
  const variables: JsonObject = {};
  for (const key of Object.keys(environment.Variables)) variables[key] = '[redacted]';
  return { ...input, Environment: { ...environment, Variables: variables } };
}

/** Requires a SigV4 `Authorization` header, as the real endpoint does; it is not verified. */
function requireSignature(req: IncomingMessage): void {
  if (!/^AWS4-HMAC-SHA256 .*Credential=/.test(req.headers.authorization ?? '')) {
    throw new AwsServiceError('MissingAuthenticationTokenException', 'Missing Authentication Token', 403);
  }
}

async function readJsonBody(req: IncomingMessage): Promise<JsonObject> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > MAX_BODY_BYTES) throw new AwsServiceError('RequestTooLargeException', 'Request must be smaller than 256 KB', 413);
    chunks.push(chunk);
  }
  if (size === 0) return {};
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.concat(chunks).toString('utf8'));
  } catch {
    throw new AwsServiceError('SerializationException', 'Malformed JSON in the request body');
  }
  if (!isJsonObject(parsed)) throw new AwsServiceError('SerializationException', 'The request body must be a JSON object');
  return parsed;
}

function send(res: ServerResponse, status: number, body: JsonObject, errorType?: string): void {
  if (res.writableEnded || res.destroyed) return;
  const payload = JSON.stringify(body);
  res.writeHead(status, {
    'content-type': 'application/json',
    'content-length': Buffer.byteLength(payload),
    'x-amzn-requestid': randomUUID(),
    ...(errorType === undefined ? {} : { 'x-amzn-errortype': errorType }),
  });
  res.end(payload);
}

/** Lambda's `LastModified` format: ISO 8601 with milliseconds and a `+0000` offset. */
function lambdaTimestamp(date: Date): string {
  return date.toISOString().replace('Z', '+0000');
}

function describe(error: unknown): string {
  return error instanceof Error ? error.message : 'non-Error thrown';
}
