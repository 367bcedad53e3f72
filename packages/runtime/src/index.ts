/**
 * `@custom-runtime/runtime`: what a handler imports. The runtime itself is the bundled
 * `dist/bootstrap` executable; this entry point holds only the handler-facing API, which works
 * from any copy of the package loaded in the same process (see docs/design.md, "The host object").
 */
import type { Context } from './context.js';

export type { ClientContext, CognitoIdentity, Context } from './context.js';
export { currentInvocation, type InvocationState, type ShutdownHook } from './host.js';
export { onShutdown } from './shutdown.js';
export { onAfterRestore, onBeforeSnapshot, type SnapStartHook } from './snapstart.js';
export {
  HttpResponseStream,
  streamifyResponse,
  type HttpResponseMetadata,
  type ResponseStream,
  type StreamifyOptions,
  type StreamingHandler,
} from './streaming.js';

/** A buffered handler: its result is JSON-serialised as the invocation's response. */
export type Handler<TEvent = unknown, TResult = unknown> = (event: TEvent, context: Context) => Promise<TResult> | TResult;
