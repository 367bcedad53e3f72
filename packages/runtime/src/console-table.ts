import { inspect, types } from 'node:util';
import { renderValue } from './errors.js';

const INSPECT_CUSTOM = inspect.custom as PropertyKey;

function hasOwnInspector(value: object): boolean {
  try {
    return typeof (value as Record<PropertyKey, unknown>)[INSPECT_CUSTOM] === 'function';
  } catch {
    return false;
  }
}

/**
 * A Proxy's own data as `util.inspect` shows it: keys and property descriptors, never its `get`
 * trap (a redacting config answers reads with real values and holds placeholders in its target).
 */
function proxyData(value: object): Record<string, unknown> | unknown[] {
  const out: Record<string, unknown> | unknown[] = Array.isArray(value) ? [] : {};
  for (const key of Object.keys(value)) {
    const descriptor = Object.getOwnPropertyDescriptor(value, key);
    (out as Record<string, unknown>)[key] = descriptor !== undefined && 'value' in descriptor ? descriptor.value : undefined;
  }
  return out;
}

/** A row of the table: an object with its own inspector is one cell, as that inspector renders it. */
function rowView(row: unknown): unknown {
  if (typeof row !== 'object' || row === null) return row;
  if (types.isProxy(row)) return proxyData(row);
  return hasOwnInspector(row) ? renderValue(row) : row;
}

/**
 * What `console.table(data)` may tabulate without rendering a value past its own redaction.
 * Node's table reads each row's properties with plain reads, which skips an object's inspector and
 * runs a Proxy's `get` trap: so a Proxy (at the top or as a row) is read through its descriptors,
 * and an object with its own `util.inspect.custom` is shown as its inspector renders it. Returns
 * a string when the whole value is to be logged as text instead of a table. Maps, Sets and cells
 * are left to Node, which renders them with `util.inspect`.
 */
export function tableView(data: unknown): { readonly table: unknown } | { readonly text: string } {
  if (typeof data !== 'object' || data === null) return { table: data };
  try {
    if (types.isMap(data) || types.isSet(data) || types.isMapIterator(data) || types.isSetIterator(data)) return { table: data };
    if (!types.isProxy(data) && hasOwnInspector(data)) return { text: renderValue(data) };
    const rows = types.isProxy(data) ? proxyData(data) : data;
    const out: Record<string, unknown> | unknown[] = Array.isArray(rows) ? [] : {};
    for (const key of Object.keys(rows)) (out as Record<string, unknown>)[key] = rowView((rows as Record<string, unknown>)[key]);
    return { table: out };
  } catch {
    // A Proxy whose ownKeys or getOwnPropertyDescriptor trap throws, a throwing getter.
    return { text: renderValue(data) };
  }
}
