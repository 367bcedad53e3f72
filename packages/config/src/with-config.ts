import { definitionState, ENVIRONMENT, PREFETCH, type ConfigDefinition, type ConfigValues, type FieldMap } from './definition.js';
import { runWithEvent } from './invocation.js';
import { AFTER_RESTORE } from './snapstart-refresh.js';

/** A handler that receives the resolved config as its third argument. */
export type ConfigHandler<F extends FieldMap, TEvent, TContext, TResult> = (
  event: TEvent,
  context: TContext,
  config: ConfigValues<F>,
) => TResult | Promise<TResult>;

/** What {@link withConfig} returns: a plain `(event, context)` handler. */
export interface WrappedHandler<TEvent, TContext, TResult> {
  (event: TEvent, context: TContext): Promise<Awaited<TResult>>;
  /** Lets the runtime prefetch when only the handler is exported. */
  [PREFETCH](): Promise<void>;
  [ENVIRONMENT](event: unknown): Promise<Record<string, string>>;
  /** Lets the runtime refresh the config after a SnapStart restore when only the handler is exported. */
  [AFTER_RESTORE](): Promise<void>;
}

/**
 * Wraps a handler so it receives the resolved config as its third argument. The wrapper binds
 * the event it is called with, so payload fields work under any runtime (ours, the managed
 * Node.js runtime, Middy, a test) and `getConfig` calls made inside the handler see the same
 * event.
 *
 * @example
 * ```ts
 * export const handler = withConfig(config, async (event: OrderEvent, context, cfg) => {
 *   return { table: cfg.tableName };
 * });
 * ```
 */
export function withConfig<F extends FieldMap, TEvent = unknown, TContext = unknown, TResult = unknown>(
  definition: ConfigDefinition<F>,
  handler: ConfigHandler<F, TEvent, TContext, TResult>,
): WrappedHandler<TEvent, TContext, TResult> {
  const state = definitionState(definition);
  const wrapped = (event: TEvent, context: TContext): Promise<Awaited<TResult>> =>
    runWithEvent(event, async (): Promise<Awaited<TResult>> => {
      const config = (await state.get()) as ConfigValues<F>;
      return await handler(event, context, config);
    });
  return Object.assign(wrapped, {
    [PREFETCH]: () => definition[PREFETCH](),
    [ENVIRONMENT]: (event: unknown) => definition[ENVIRONMENT](event),
    [AFTER_RESTORE]: () => definition[AFTER_RESTORE](),
  });
}
