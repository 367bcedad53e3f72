import { AsyncLocalStorage } from 'node:async_hooks';

// The slice of the runtime's host object (docs/design.md, "The host object") this package reads.
// Declared locally on purpose: @custom-runtime/config never imports @custom-runtime/runtime.
interface InvocationView {
  readonly event: unknown;
}
interface RuntimeHostView {
  readonly invocations?: { getStore(): InvocationView | undefined };
}

const HOST_KEY = Symbol.for('@custom-runtime/host');

/** Returned by {@link currentEvent} outside any invocation. */
export const NO_EVENT: unique symbol = Symbol('no event');

interface EventBinding {
  readonly event: unknown;
}

// withConfig binds the event it receives, so payload fields work without our runtime.
const eventScope = new AsyncLocalStorage<EventBinding>();

/** Runs `fn` with `event` as the current event (wins over the runtime's invocation scope). */
export function runWithEvent<R>(event: unknown, fn: () => R): R {
  return eventScope.run({ event }, fn);
}

/**
 * The event of the invocation being handled: bound by `withConfig`, else the runtime's
 * invocation scope, else {@link NO_EVENT}.
 */
export function currentEvent(): unknown {
  const bound = eventScope.getStore();
  if (bound !== undefined) return bound.event;
  const host = (globalThis as { [HOST_KEY]?: RuntimeHostView })[HOST_KEY];
  const invocation = host?.invocations?.getStore();
  return invocation === undefined ? NO_EVENT : invocation.event;
}
