import type { output } from 'zod/v4/core';
import { ConfigField, type EnvSource, type Schema } from '../field.js';

/**
 * A field read from an environment variable. An unset or empty variable is absent.
 *
 * @param name - the variable's name
 * @param schema - validates the string (use `z.coerce.*` for numbers and booleans);
 *   default: a required string
 *
 * @example
 * ```ts
 * port: env('PORT', z.coerce.number().int().default(8080))
 * ```
 */
export function env(name: string): ConfigField<string>;
export function env<S extends Schema>(name: string, schema: S): ConfigField<output<S>>;
export function env(name: string, schema?: Schema): ConfigField<unknown> {
  return new ConfigField([envSource(name)], schema);
}

/** @internal */
export function envSource(name: string): EnvSource {
  if (typeof name !== 'string' || name === '') {
    throw new TypeError('env: the variable name must be a non-empty string');
  }
  return Object.freeze({ kind: 'env', name });
}

/** The variable's value, or `undefined` when it is unset or empty. */
export function readEnv(name: string): string | undefined {
  const value = process.env[name];
  return value === '' ? undefined : value;
}
