// A built-in from process.getBuiltinModule, not an import: docs/design.md, "Built-in modules".
const { AsyncLocalStorage } = process.getBuiltinModule('node:async_hooks');
const { inspect } = process.getBuiltinModule('node:util');

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

/** The scope `withConfig` opens for one call; `live` until the call settles. */
class EventBinding {
  live = true;
  constructor(readonly event: unknown) {}
  /**
   * Node keeps the AsyncLocalStorage store on every promise and timer made in the scope, and
   * `util.inspect` shows it (`console.log(somePromise)`): never the event, which may hold a
   * sensitive payload field.
   */
  [inspect.custom](): string {
    return `EventBinding { live: ${String(this.live)} }`;
  }
}

// withConfig binds the event it receives, so payload fields work without our runtime.
const eventScope = new AsyncLocalStorage<EventBinding>();

/** Runs `fn` with `event` as the current event (wins over the runtime's invocation scope). */
export function runWithEvent<R>(event: unknown, fn: () => Promise<R>): Promise<R> {
  const binding = new EventBinding(event);
  const settle = (): void => {
    binding.live = false;
  };
  const result = eventScope.run(binding, fn);
  result.then(settle, settle);
  return result;
}

/**
 * Whether the invocation of `scope` may still be running once another one has started: a
 * `withConfig` call that has not settled, or any runtime invocation when the runtime runs
 * several at once (`AWS_LAMBDA_MAX_CONCURRENCY` > 1, given as `concurrent`).
 */
export function mayStillRun(scope: object, concurrent: boolean): boolean {
  return scope instanceof EventBinding ? scope.live : concurrent;
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
