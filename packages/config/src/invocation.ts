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
 * The scope of the invocation being handled: the binding made by `withConfig`, else the
 * runtime's invocation state, else `undefined`. One object per invocation, so per-invocation
 * results can be keyed on it (also when invocations run concurrently); its `event` is the
 * invocation's event.
 */
export function currentScope(): { readonly event: unknown } | undefined {
  const bound = eventScope.getStore();
  if (bound !== undefined) return bound;
  const host = (globalThis as { [HOST_KEY]?: RuntimeHostView })[HOST_KEY];
  return host?.invocations?.getStore();
}

/**
 * The event of the invocation being handled: bound by `withConfig`, else the runtime's
 * invocation scope, else {@link NO_EVENT}.
 */
export function currentEvent(): unknown {
  const scope = currentScope();
  return scope === undefined ? NO_EVENT : scope.event;
}
