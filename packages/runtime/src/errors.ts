import { inspect, types } from 'node:util';

/**
 * The JSON body of an error post (`/invocation/{id}/error`, `/init/error`) and of the error
 * trailer of a streamed response. Structurally identical to `ErrorResponse` in runtime-api.ts.
 */
export interface ErrorResponse {
  errorMessage: string;
  errorType: string;
  stackTrace: string[];
}

/** A thrown value described for the Runtime API: the body and the `Lambda-Runtime-Function-Error-Type` header. */
export interface ErrorDescription {
  readonly response: ErrorResponse;
  /** `Category.Reason`, header-safe (see {@link sanitizeErrorTypeHeader}). */
  readonly typeHeader: string;
}

/** Longest `errorMessage` kept; the rest is cut with a marker (bodies also travel as trailers). */
export const MAX_ERROR_MESSAGE_CHARS = 16 * 1024;
/** Most stack lines kept in `stackTrace`. */
export const MAX_STACK_LINES = 100;
const MAX_STACK_LINE_CHARS = 2048;
const MAX_ERROR_TYPE_CHARS = 256;
const MAX_HEADER_CHARS = 128;

/**
 * Base of the errors the runtime raises itself. `lambdaErrorType` is used verbatim as both the
 * header and the body `errorType` (the `Runtime.*` rows of the table in docs/design.md); any
 * error carrying a string `lambdaErrorType` (e.g. one from `@custom-runtime/config`) is treated
 * the same way.
 */
export abstract class RuntimeError extends Error {
  /** `Runtime.<Reason>`. */
  abstract readonly lambdaErrorType: string;
}

/** `Runtime.ImportModuleError`: the handler module cannot be found, or threw while loading. */
export class ImportModuleError extends RuntimeError {
  override readonly name: string = 'Runtime.ImportModuleError';
  readonly lambdaErrorType: string = 'Runtime.ImportModuleError';
}

/** `Runtime.UserCodeSyntaxError`: the handler module does not parse. */
export class UserCodeSyntaxError extends RuntimeError {
  override readonly name: string = 'Runtime.UserCodeSyntaxError';
  readonly lambdaErrorType: string = 'Runtime.UserCodeSyntaxError';
}

/** `Runtime.HandlerNotFound`: the export is missing or is not a function. */
export class HandlerNotFound extends RuntimeError {
  override readonly name: string = 'Runtime.HandlerNotFound';
  readonly lambdaErrorType: string = 'Runtime.HandlerNotFound';
}

/** `Runtime.CallbackHandlerDeprecated`: the handler takes a callback (three or more parameters). */
export class CallbackHandlerDeprecated extends RuntimeError {
  override readonly name: string = 'Runtime.CallbackHandlerDeprecated';
  readonly lambdaErrorType: string = 'Runtime.CallbackHandlerDeprecated';
}

/** `Runtime.MalformedHandlerName`: `_HANDLER` cannot be parsed. */
export class MalformedHandlerName extends RuntimeError {
  override readonly name: string = 'Runtime.MalformedHandlerName';
  readonly lambdaErrorType: string = 'Runtime.MalformedHandlerName';
}

/** `Runtime.MalformedStreamingHandler`: the streaming marker asks for a mode other than `response`. */
export class MalformedStreamingHandler extends RuntimeError {
  override readonly name: string = 'Runtime.MalformedStreamingHandler';
  readonly lambdaErrorType: string = 'Runtime.MalformedStreamingHandler';
}

/** `Runtime.InvalidStreamingOperation`: e.g. setting the content type after the first write. */
export class InvalidStreamingOperation extends RuntimeError {
  override readonly name: string = 'Runtime.InvalidStreamingOperation';
  readonly lambdaErrorType: string = 'Runtime.InvalidStreamingOperation';
}

/** `Runtime.ResponseSerializationError`: the handler's result cannot be turned into JSON. */
export class ResponseSerializationError extends RuntimeError {
  override readonly name: string = 'Runtime.ResponseSerializationError';
  readonly lambdaErrorType: string = 'Runtime.ResponseSerializationError';
}

/**
 * `Runtime.NodeJsExit`: the event loop emptied while the handler's promise was still pending
 * (a Promise that is never settled), reported as the official client does, with its message
 * (aws-lambda-nodejs-runtime-interface-client src/Errors.js, `NodeJsExit`; src/Runtime.js,
 * `_setDefaultExitListener`).
 */
export class NodeJsExit extends RuntimeError {
  override readonly name: string = 'Runtime.NodeJsExit';
  readonly lambdaErrorType: string = 'Runtime.NodeJsExit';
  constructor() {
    super(
      'The Lambda runtime client detected an unexpected Node.js exit code. This is most commonly caused by a Promise ' +
        'that was never settled. For more information, see https://nodejs.org/docs/latest/api/process.html#exit-codes',
    );
  }
}

/**
 * `Sandbox.Timedout`: the runtime itself ended an invocation at its deadline (Lambda Managed
 * Instances, where Lambda does not); same type and wording as Lambda's own timeout.
 */
export class InvocationTimedOut extends RuntimeError {
  override readonly name: string = 'Sandbox.Timedout';
  readonly lambdaErrorType: string = 'Sandbox.Timedout';
  constructor(timeoutMs: number) {
    super(`Task timed out after ${(Math.max(0, timeoutMs) / 1000).toFixed(2)} seconds`);
  }
}

/** `Runtime.InitError`: an init hook failed with an error that names no type of its own. */
export class InitError extends RuntimeError {
  override readonly name: string = 'Runtime.InitError';
  readonly lambdaErrorType: string = 'Runtime.InitError';
}

/** Why a command handler failed. */
export type CommandFailureReason = 'exit' | 'signal' | 'timeout' | 'output-too-large' | 'spawn' | 'aborted';

/** Details of a {@link CommandFailed}. */
export interface CommandFailureDetails {
  readonly path: string;
  readonly reason: CommandFailureReason;
  readonly exitCode: number | null;
  readonly signal: NodeJS.Signals | null;
  /** The last few KiB of the command's stderr, decoded as UTF-8. */
  readonly stderrTail: string;
}

/**
 * The executable of a command handler failed (header `Function.CommandFailed`, body
 * `CommandFailed`): it is the function's fault, not the runtime's, so it has no `lambdaErrorType`.
 */
export class CommandFailed extends Error implements CommandFailureDetails {
  override readonly name = 'CommandFailed';
  readonly path: string;
  readonly reason: CommandFailureReason;
  readonly exitCode: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stderrTail: string;
  constructor(message: string, details: CommandFailureDetails, options?: ErrorOptions) {
    super(message, options);
    this.path = details.path;
    this.reason = details.reason;
    this.exitCode = details.exitCode;
    this.signal = details.signal;
    this.stderrTail = details.stderrTail;
  }
}

/** Reads a property without letting a throwing getter or proxy trap escape. */
function safeGet(value: object, key: PropertyKey): unknown {
  try {
    return (value as Record<PropertyKey, unknown>)[key];
  } catch {
    return undefined;
  }
}

function truncate(text: string, max: number): string {
  if (text.length <= max) return text;
  return `${text.slice(0, max)}… [truncated ${text.length - max} characters]`;
}

/** ric replaces DEL (0x7F) in error fields; kept for parity. */
function escapeDel(text: string): string {
  return text.includes('\x7F') ? text.replaceAll('\x7F', '%7F') : text;
}

const RENDER_OPTIONS = {
  depth: 3,
  breakLength: Number.POSITIVE_INFINITY,
  maxArrayLength: 20,
  maxStringLength: 4096,
  getters: false,
} as const;

/**
 * Renders any value as text, never throwing, the way the value asks to be rendered: its own
 * `util.inspect.custom` is honoured (a redacting config object stays redacted), and so is a
 * `toJSON` when the value has one and no inspector of its own. Getters are not called; a Proxy
 * is shown as `[Proxy]` without running its traps nor reading its target. When the value's own
 * rendering throws, a placeholder is returned: never a rendering that skips its inspector.
 */
export function renderValue(value: unknown): string {
  if (typeof value === 'string') return value;
  try {
    if (types.isProxy(value)) return '[Proxy]';
    if (typeof value === 'object' && value !== null && !types.isNativeError(value)) {
      const custom = inspect.custom as PropertyKey;
      if (!(custom in value) && typeof (value as { toJSON?: unknown }).toJSON === 'function') {
        const json = JSON.stringify(value);
        if (typeof json === 'string') return json;
      }
    }
    return inspect(value, RENDER_OPTIONS);
  } catch {
    return '[value that could not be rendered]';
  }
}

const BUILTIN_ERROR_PROTOTYPES: ReadonlySet<object> = new Set<object>([
  Error.prototype,
  TypeError.prototype,
  RangeError.prototype,
  SyntaxError.prototype,
  ReferenceError.prototype,
  EvalError.prototype,
  URIError.prototype,
  AggregateError.prototype,
]);

/** The object in `value`'s prototype chain that owns `key`, if any. */
function ownerOf(value: object, key: PropertyKey): object | undefined {
  try {
    let current: object | null = value;
    for (let depth = 0; current !== null && depth < 100; depth += 1) {
      if (Object.prototype.hasOwnProperty.call(current, key)) return current;
      current = Object.getPrototypeOf(current) as object | null;
    }
  } catch {
    // Proxies can throw from getPrototypeOf; treat the owner as unknown.
  }
  return undefined;
}

/**
 * The error's type name: `err.name`, except that a subclass which never set its own name
 * (`class ValidationError extends Error {}`, whose `name` is inherited from `Error.prototype`)
 * is named after its constructor, as ric's JSON logger does.
 */
export function errorName(err: object): string {
  const name = safeGet(err, 'name');
  const ctor = safeGet(err, 'constructor');
  const ctorName = typeof ctor === 'function' ? safeGet(ctor, 'name') : undefined;
  const usableCtorName = typeof ctorName === 'string' && ctorName !== '' ? ctorName : undefined;
  if (typeof name !== 'string' || name === '') return usableCtorName ?? 'Error';
  const owner = ownerOf(err, 'name');
  if (owner !== undefined && BUILTIN_ERROR_PROTOTYPES.has(owner) && usableCtorName !== undefined) {
    return usableCtorName;
  }
  return name;
}

/** Error, cross-realm error, or an object shaped like one (ric's duck typing). */
function isErrorLike(value: unknown): value is object {
  if (value === null || typeof value !== 'object') return false;
  // A Proxy's traps are user code that may throw: it is rendered, never inspected as an error.
  if (types.isProxy(value)) return false;
  if (types.isNativeError(value)) return true;
  try {
    if (value instanceof Error) return true;
  } catch {
    return false;
  }
  const name = safeGet(value, 'name');
  const message = safeGet(value, 'message');
  const stack = safeGet(value, 'stack');
  return typeof name === 'string' && name !== '' && typeof message === 'string' && typeof stack === 'string';
}

const FRAME = /^\s*at\s/;

/**
 * The stack without its `Name: message` head (which may span several lines when the message
 * does), each line trimmed, capped in count and length.
 */
export function stackLines(stack: unknown): string[] {
  if (typeof stack !== 'string' || stack === '') return [];
  const lines = stack.split('\n');
  const firstFrame = lines.findIndex((line) => FRAME.test(line));
  const body = firstFrame >= 0 ? lines.slice(firstFrame) : lines.slice(1);
  const out: string[] = [];
  for (const line of body) {
    const trimmed = line.trim();
    if (trimmed === '') continue;
    if (out.length === MAX_STACK_LINES) {
      out.push(`… ${body.length - MAX_STACK_LINES} more lines`);
      break;
    }
    out.push(escapeDel(truncate(trimmed, MAX_STACK_LINE_CHARS)));
  }
  return out;
}

function runtimeType(err: object): string | undefined {
  const declared = safeGet(err, 'lambdaErrorType');
  if (typeof declared === 'string' && declared.trim() !== '') return declared;
  // Errors named `Runtime.X` without the property (context.ts, other runtimes) are runtime errors too.
  const name = safeGet(err, 'name');
  if (typeof name === 'string' && /^Runtime\.[A-Za-z0-9]+$/.test(name)) return name;
  return undefined;
}

const HEADER_UNSAFE = /[^A-Za-z0-9._-]+/g;

function headerSegments(value: string): string[] {
  return value
    .replace(HEADER_UNSAFE, '_')
    .split('.')
    .filter((segment) => segment !== '');
}

/**
 * Makes a value safe for the `Lambda-Runtime-Function-Error-Type` header, in `Category.Reason`
 * form: characters other than `A-Z a-z 0-9 . _ -` become `_`, empty segments are dropped, a
 * value without a category gets `defaultCategory`, and the result is capped at 128 characters.
 */
export function sanitizeErrorTypeHeader(value: string, defaultCategory = 'Function'): string {
  const segments = headerSegments(value);
  if (segments.length === 0) segments.push('Unknown');
  if (segments.length === 1) segments.unshift(headerSegments(defaultCategory).join('_') || 'Function');
  return segments.join('.').slice(0, MAX_HEADER_CHARS);
}

/** `Function.<reason>` for a function's own error; the reason keeps its dots (`Function.A.B`). */
function functionTypeHeader(errorType: string): string {
  const segments = headerSegments(errorType);
  return ['Function', ...(segments.length > 0 ? segments : ['Unknown'])].join('.').slice(0, MAX_HEADER_CHARS);
}

/**
 * Describes any thrown value per the error table in docs/design.md. Never throws.
 *
 * - an error with a `lambdaErrorType` (our runtime errors, config errors) or named `Runtime.X`:
 *   header and `errorType` are that type;
 * - any other error (native, cross-realm, or duck-typed with string name/message/stack):
 *   header `Function.<name>`, `errorType` the name (see {@link errorName});
 * - anything else: `Function.NonErrorThrown` / `NonErrorThrown`, the value rendered as text.
 */
export function describeError(value: unknown): ErrorDescription {
  try {
    if (isErrorLike(value)) {
      const rawMessage = safeGet(value, 'message');
      const errorMessage = escapeDel(
        truncate(typeof rawMessage === 'string' ? rawMessage : renderValue(rawMessage), MAX_ERROR_MESSAGE_CHARS),
      );
      const stackTrace = stackLines(safeGet(value, 'stack'));
      const declared = runtimeType(value);
      if (declared !== undefined) {
        const typeHeader = sanitizeErrorTypeHeader(declared, 'Runtime');
        return { response: { errorType: typeHeader, errorMessage, stackTrace }, typeHeader };
      }
      const errorType = escapeDel(truncate(errorName(value), MAX_ERROR_TYPE_CHARS));
      return {
        response: { errorType, errorMessage, stackTrace },
        typeHeader: functionTypeHeader(errorType),
      };
    }
    return {
      response: {
        errorType: 'NonErrorThrown',
        errorMessage: escapeDel(truncate(renderValue(value), MAX_ERROR_MESSAGE_CHARS)),
        stackTrace: [],
      },
      typeHeader: 'Function.NonErrorThrown',
    };
  } catch {
    // Unreachable in practice (every read above is guarded); the contract is "never throws".
    return {
      response: { errorType: 'Error', errorMessage: 'the thrown value could not be described', stackTrace: [] },
      typeHeader: 'Function.Error',
    };
  }
}

/** The body part of {@link describeError}. */
export function toErrorResponse(value: unknown): ErrorResponse {
  return describeError(value).response;
}

/**
 * JSON-encodes a handler's result for `/response`, like ric: `undefined` becomes `null`, a string
 * is encoded as a JSON string, a Buffer as `{"type":"Buffer","data":[…]}`. Throws
 * {@link ResponseSerializationError} when the value cannot be encoded (circular structure,
 * BigInt, a throwing `toJSON`, a function or symbol at top level, a result too large for a string).
 */
export function serializeResponse(result: unknown): string {
  let json: string | undefined;
  try {
    json = JSON.stringify(result === undefined ? null : result);
  } catch (err) {
    const reason = isErrorLike(err) ? safeGet(err, 'message') : undefined;
    throw new ResponseSerializationError(
      `Unable to stringify response body${typeof reason === 'string' ? `: ${truncate(reason, 512)}` : ''}`,
      { cause: err },
    );
  }
  if (json === undefined) {
    // JSON.stringify yields undefined for a function or symbol; ric then fails obscurely.
    throw new ResponseSerializationError(`Unable to stringify response body: a ${typeof result} is not JSON`);
  }
  return json;
}
