import { InvocationDeadline } from './invocation-deadline.js';

/** Mobile SDK client context, sent by the invoker as base64-free JSON in a header. */
export interface ClientContext {
  readonly client?: Readonly<Record<string, unknown>>;
  readonly custom?: Readonly<Record<string, unknown>>;
  readonly env?: Readonly<Record<string, unknown>>;
  readonly [key: string]: unknown;
}

/** Amazon Cognito identity of the invoker, when invoked through the AWS Mobile SDK. */
export interface CognitoIdentity {
  readonly cognitoIdentityId: string;
  readonly cognitoIdentityPoolId: string;
}

/** The second argument of a handler; shaped like the managed Node.js runtime's context. */
export interface Context {
  readonly awsRequestId: string;
  readonly invokedFunctionArn: string;
  readonly functionName: string;
  readonly functionVersion: string;
  readonly memoryLimitInMB: string;
  readonly logGroupName: string;
  readonly logStreamName: string;
  readonly clientContext: ClientContext | undefined;
  readonly identity: CognitoIdentity | undefined;
  /** Tenant of a multi-tenant function (`Lambda-Runtime-Aws-Tenant-Id`). */
  readonly tenantId: string | undefined;
  /** X-Ray trace header of this invocation (`Lambda-Runtime-Trace-Id`). */
  readonly xRayTraceId: string | undefined;
  /** Kept for handlers written for the managed runtime; this runtime never waits for the loop. */
  callbackWaitsForEmptyEventLoop: boolean;
  /** Milliseconds left before Lambda's deadline for this invocation. */
  getRemainingTimeInMillis(): number;
  /**
   * Aborted (reason: a `TimeoutError` DOMException) when the invocation reaches its deadline,
   * in every mode; pass it to `fetch`, the AWS SDK (`abortSignal`) or your own loops to stop
   * work the result can no longer use. Never aborted after the invocation has ended. Not part of
   * the managed runtime's context.
   */
  readonly signal: AbortSignal;
}

/** The headers of a `/next` answer the context is built from. */
export interface ContextHeaders {
  /** `Lambda-Runtime-Aws-Request-Id`. */
  readonly requestId: string;
  /** `Lambda-Runtime-Deadline-Ms`: the deadline in milliseconds since the Unix epoch. */
  readonly deadlineMs: number;
  /** `Lambda-Runtime-Invoked-Function-Arn`. */
  readonly invokedFunctionArn: string;
  /** `Lambda-Runtime-Trace-Id`. */
  readonly traceId: string | undefined;
  /** `Lambda-Runtime-Client-Context`, raw JSON. */
  readonly clientContext: string | undefined;
  /** `Lambda-Runtime-Cognito-Identity`, raw JSON. */
  readonly cognitoIdentity: string | undefined;
  /** `Lambda-Runtime-Aws-Tenant-Id`. */
  readonly tenantId: string | undefined;
}

/** The function-wide values Lambda sets in the environment, read once at start. */
export interface FunctionInfo {
  readonly functionName: string;
  readonly functionVersion: string;
  readonly memoryLimitInMB: string;
  readonly logGroupName: string;
  readonly logStreamName: string;
}

export function readFunctionInfo(env: NodeJS.ProcessEnv): FunctionInfo {
  return {
    functionName: env.AWS_LAMBDA_FUNCTION_NAME ?? '',
    functionVersion: env.AWS_LAMBDA_FUNCTION_VERSION ?? '$LATEST',
    memoryLimitInMB: env.AWS_LAMBDA_FUNCTION_MEMORY_SIZE ?? '',
    logGroupName: env.AWS_LAMBDA_LOG_GROUP_NAME ?? '',
    logStreamName: env.AWS_LAMBDA_LOG_STREAM_NAME ?? '',
  };
}

/** A header that should hold JSON and does not; reported as this invocation's error. */
export class InvalidContextHeaderError extends Error {
  override readonly name = 'Runtime.InvalidContextHeader';
  constructor(header: string, cause: unknown) {
    super(`${header} is not valid JSON`, { cause });
  }
}

function parseJsonHeader<T>(header: string, raw: string | undefined): T | undefined {
  if (raw === undefined || raw === '') return undefined;
  try {
    return JSON.parse(raw) as T;
  } catch (err) {
    throw new InvalidContextHeaderError(header, err);
  }
}

/**
 * Builds a handler context; throws {@link InvalidContextHeaderError} on malformed JSON headers.
 * `deadline` supplies `signal` (one is made from the headers when not given).
 */
export function createContext(
  headers: ContextHeaders,
  info: FunctionInfo,
  deadline: InvocationDeadline = new InvocationDeadline(headers.deadlineMs),
): Context {
  const { deadlineMs } = headers;
  const context = {
    awsRequestId: headers.requestId,
    invokedFunctionArn: headers.invokedFunctionArn,
    ...info,
    clientContext: parseJsonHeader<ClientContext>('Lambda-Runtime-Client-Context', headers.clientContext),
    identity: parseJsonHeader<CognitoIdentity>('Lambda-Runtime-Cognito-Identity', headers.cognitoIdentity),
    tenantId: headers.tenantId,
    xRayTraceId: headers.traceId,
    callbackWaitsForEmptyEventLoop: false,
    getRemainingTimeInMillis: () => Math.max(0, deadlineMs - Date.now()),
  };
  Object.defineProperty(context, DEADLINE, { value: deadline });
  return Object.defineProperty(context, 'signal', SIGNAL) as Context;
}

// `signal` is one getter shared by every context. A getter closure per context (`get signal()`
// in the literal) gives each context a map of its own in old space, which holds the context and
// its invocation past every scavenge until a full GC: 12 MiB more RSS after 20,000 invocations.
const DEADLINE: unique symbol = Symbol('deadline');
const SIGNAL: PropertyDescriptor = {
  enumerable: true,
  configurable: true,
  get(this: { readonly [DEADLINE]: InvocationDeadline }): AbortSignal {
    return this[DEADLINE].signal;
  },
};
