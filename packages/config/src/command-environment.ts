import type { FieldPlan } from './field-resolution.js';

/** `tableName` → `TABLE_NAME`, `dbURLPrefix` → `DB_URL_PREFIX`, `s3Bucket` → `S3_BUCKET`. */
export function upperSnakeCase(key: string): string {
  return key
    .replace(/([a-z0-9])([A-Z])/g, '$1_$2')
    .replace(/([A-Z]+)([A-Z][a-z])/g, '$1_$2')
    .replace(/[^A-Za-z0-9]+/g, '_')
    .replace(/^_+|_+$/g, '')
    .toUpperCase();
}

/** Renders a resolved config as environment variables for a command handler. */
export function toEnvironment(plan: readonly FieldPlan[], config: Readonly<Record<string, unknown>>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const { key, field } of plan) {
    const value = config[key];
    if (value === undefined || value === null) continue;
    out[field.settings.envName ?? upperSnakeCase(key)] = render(value);
  }
  return out;
}

function render(value: unknown): string {
  if (typeof value === 'string') return value;
  if (value instanceof Uint8Array) return Buffer.from(value.buffer, value.byteOffset, value.byteLength).toString('base64');
  if (value instanceof Date) return value.toISOString();
  if (typeof value === 'object') return JSON.stringify(value);
  return String(value);
}
