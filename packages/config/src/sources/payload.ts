import type { output } from 'zod/v4/core';
import { PayloadField, type PayloadSource, type Schema } from '../field.js';

// Segments that would walk into prototypes; a path containing one never resolves.
const INERT_SEGMENTS = new Set(['__proto__', 'constructor', 'prototype']);

/**
 * A field read from the current invocation's event by dotted path (`'customer.id'`,
 * `'items.0.sku'`). Only fields that declare `payload` can be set from the event, and only when
 * none of the field's other sources is present. Paths with a `__proto__`, `constructor` or
 * `prototype` segment are inert, and only the event's own properties are read. Outside an
 * invocation the field is `undefined` (or its schema's default).
 *
 * @param path - dotted path into the event
 * @param schema - validates the value; default: a required string
 */
export function payload(path: string): PayloadField<string>;
export function payload<S extends Schema>(path: string, schema: S): PayloadField<output<S>>;
export function payload(path: string, schema?: Schema): PayloadField<unknown> {
  return new PayloadField(payloadSource(path), schema);
}

/** @internal */
export function payloadSource(path: string): PayloadSource {
  if (typeof path !== 'string' || path === '') {
    throw new TypeError('payload: the path must be a non-empty string');
  }
  const segments = path.split('.');
  if (segments.some((s) => s === '')) {
    throw new TypeError(`payload: "${path}" has an empty segment`);
  }
  const inert = segments.some((s) => INERT_SEGMENTS.has(s));
  return Object.freeze({
    kind: 'payload',
    path,
    segments: inert ? undefined : Object.freeze(segments),
  });
}

/** The value at `segments` in `event`, following own properties only. */
export function readPath(event: unknown, segments: readonly string[] | undefined): unknown {
  if (segments === undefined) return undefined;
  let current = event;
  for (const segment of segments) {
    if (typeof current !== 'object' || current === null || !Object.hasOwn(current, segment)) {
      return undefined;
    }
    current = (current as Record<string, unknown>)[segment];
  }
  return current;
}
