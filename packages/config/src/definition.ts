import { checkSeconds, type ConfigField } from './field.js';
import { runWithEvent } from './invocation.js';
import { locationOf } from './field-resolution.js';
import { DefinitionState, type DefinitionOptions } from './definition-state.js';
import { toEnvironment } from './command-environment.js';
import { AFTER_RESTORE, refreshAfterRestore, type SnapStartOptions } from './snapstart-refresh.js';
import { planInitRequests } from './init-request-plan.js';
import type { PlannedRequest } from './init-request-sender.js';

// A built-in from process.getBuiltinModule, not an import: docs/design.md, "Built-in modules".
const { inspect } = process.getBuiltinModule('node:util');

/** Well-known method the runtime awaits during init (docs/design.md, "The host object"). */
export const PREFETCH: unique symbol = Symbol.for('@custom-runtime/prefetch');
/** Well-known method the runtime calls for command handlers. */
export const ENVIRONMENT: unique symbol = Symbol.for('@custom-runtime/environment');
/** Well-known method the runtime calls while an image is built (docs/design.md, "Init requests ahead of the handler"). */
export const INIT_REQUESTS: unique symbol = Symbol.for('@custom-runtime/init-requests');

/** The fields of a definition, by key. */
export type FieldMap = Readonly<Record<string, ConfigField<unknown>>>;

/** The value type of a field. */
export type FieldValue<F> = F extends ConfigField<infer T> ? T : never;

/** The resolved config of a field map. */
export type ConfigValues<F extends FieldMap> = { readonly [K in keyof F]: FieldValue<F[K]> };

/**
 * The resolved config type of a definition, as returned by {@link getConfig}.
 *
 * @example
 * ```ts
 * export type Config = InferConfig<typeof config>;
 * ```
 */
export type InferConfig<D> = D extends ConfigDefinition<infer F> ? ConfigValues<F> : never;

let stateOf: (definition: ConfigDefinition<FieldMap>) => DefinitionState;

/**
 * A typed configuration: fields and how they are cached. Create with {@link defineConfig},
 * read with {@link getConfig}. Export it from the handler module so the runtime resolves its
 * AWS values during init.
 */
export class ConfigDefinition<F extends FieldMap> {
  /** The fields, by key. */
  readonly fields: F;
  readonly #state: DefinitionState;
  readonly #snapStart: SnapStartOptions;

  static {
    stateOf = (definition) => definition.#state;
  }

  /** @internal Use {@link defineConfig}. */
  constructor(fields: F, options: DefinitionOptions & SnapStartOptions) {
    this.fields = fields;
    this.#state = new DefinitionState(fields, options);
    this.#snapStart = { refreshAfterRestore: options.refreshAfterRestore !== false };
  }

  /**
   * Resolves every non-payload source and warms the cache; rejects with a {@link ConfigError}
   * (`lambdaErrorType: 'Runtime.ConfigInvalid'`). Called by the runtime during init.
   */
  [PREFETCH](): Promise<void> {
    return this.#state.prefetch();
  }

  /**
   * Called by the runtime while an image is built: the Secrets Manager and KMS calls
   * {@link ConfigDefinition[PREFETCH]} makes first, with placeholders for the values of the
   * variables they depend on. Sends nothing and reads no value.
   */
  [INIT_REQUESTS](): Promise<PlannedRequest[]> {
    return planInitRequests(this.#state);
  }

  /**
   * Called by the runtime once a SnapStart snapshot was restored, before the first invocation:
   * drops connections and credentials from before the snapshot and resolves again (see
   * {@link SnapStartOptions.refreshAfterRestore}). Never rejects.
   */
  [AFTER_RESTORE](): Promise<void> {
    return refreshAfterRestore(this.#state, this.#snapStart);
  }

  /**
   * The config for `event` as environment variables for a command handler: each field under
   * its `exportAs` name or its key in UPPER_SNAKE_CASE; objects as JSON, bytes as base64,
   * `undefined` and `null` omitted.
   */
  async [ENVIRONMENT](event: unknown): Promise<Record<string, string>> {
    const config = await runWithEvent(event, () => this.#state.get());
    return toEnvironment(this.#state.plan, config as Record<string, unknown>);
  }

  /** Shows fields and sources, never values. */
  [inspect.custom](): string {
    const lines = this.#state.plan.map((p) => `  ${p.key}: ${p.field.sources.map(locationOf).join(' | ')}`);
    return `ConfigDefinition {\n${lines.join('\n')}\n}`;
  }

  /** Fields and sources, never values. */
  toJSON(): Record<string, string[]> {
    return Object.fromEntries(this.#state.plan.map((p) => [p.key, p.field.sources.map(locationOf)]));
  }
}

/** @internal */
export function definitionState(definition: ConfigDefinition<FieldMap>): DefinitionState {
  if (!(definition instanceof ConfigDefinition)) {
    throw new TypeError('expected a definition created by defineConfig()');
  }
  return stateOf(definition);
}

/**
 * Declares a typed configuration. The type of {@link getConfig}'s result is inferred from the
 * fields' schemas.
 *
 * @param fields - field builders: {@link env}, {@link payload}, {@link secret}, {@link kms}
 * @param options - cache TTL and staleness, SDK clients, logger, SnapStart refresh
 *
 * @example
 * ```ts
 * export const config = defineConfig({
 *   tableName: env('TABLE_NAME'),
 *   port: env('PORT', z.coerce.number().int()),
 *   db: secret('DB_SECRET', z.object({ username: z.string(), password: z.string() })),
 * });
 * ```
 */
export function defineConfig<F extends FieldMap>(
  fields: F,
  options: DefinitionOptions & SnapStartOptions = {},
): ConfigDefinition<F> {
  if (typeof fields !== 'object' || fields === null) throw new TypeError('defineConfig: expected an object of fields');
  for (const [key, field] of Object.entries(fields)) {
    if (typeof field !== 'object' || field === null || !Array.isArray(field.sources)) {
      throw new TypeError(`defineConfig: "${key}" is not a field (use env(), payload(), secret() or kms())`);
    }
  }
  checkSeconds(options.ttlSeconds, 'ttlSeconds');
  checkSeconds(options.maxStalenessSeconds, 'maxStalenessSeconds');
  return new ConfigDefinition(fields, options);
}

/**
 * The resolved, validated config. Inside a handler (run by our runtime, or wrapped by
 * {@link withConfig}) payload fields come from the current invocation's event; elsewhere they
 * are `undefined`. Warm calls do no I/O and no re-validation.
 *
 * @throws {@link ConfigError} listing every failed field
 */
export function getConfig<F extends FieldMap>(definition: ConfigDefinition<F>): Promise<ConfigValues<F>> {
  return definitionState(definition).get() as Promise<ConfigValues<F>>;
}
