import { AsyncLocalStorage } from 'node:async_hooks';
import type { Context } from './context.js';

/**
 * What the runtime knows about the invocation being handled, scoped with AsyncLocalStorage: our
 * typed view of what the runtime also publishes on `globalThis.awslambda.InvokeStore`.
 */
export interface InvocationState {
  readonly requestId: string;
  readonly traceId: string | undefined;
  /** `Lambda-Runtime-Aws-Tenant-Id`, for a multi-tenant function. */
  readonly tenantId: string | undefined;
  readonly event: unknown;
  readonly context: Context;
}

/** A function run when Lambda shuts the execution environment down. */
export type ShutdownHook = () => void | Promise<void>;

/**
 * Process-wide state shared by every copy of our packages loaded in one process (the bundled
 * bootstrap and the copies a handler bundles). See docs/design.md, "The host object".
 */
export interface RuntimeHost {
  readonly version: 1;
  readonly invocations: AsyncLocalStorage<InvocationState>;
  readonly shutdownHooks: ShutdownHook[];
}

const HOST_KEY = Symbol.for('@custom-runtime/host');

/** Returns the process's host object, creating it if this copy is the first to ask. */
export function getHost(): RuntimeHost {
  const slot = globalThis as { [HOST_KEY]?: RuntimeHost };
  slot[HOST_KEY] ??= { version: 1, invocations: new AsyncLocalStorage(), shutdownHooks: [] };
  return slot[HOST_KEY];
}

/**
 * The invocation being handled in the current async scope, or `undefined` outside a handler
 * (at module load, in a script, in a test).
 */
export function currentInvocation(): InvocationState | undefined {
  return getHost().invocations.getStore();
}
