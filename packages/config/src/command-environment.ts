import { ConfigError, type ConfigIssue } from './config-error.js';
import type { Source } from './field.js';
import { locationOf, type FieldPlan } from './field-resolution.js';

/** `tableName` → `TABLE_NAME`, `dbURLPrefix` → `DB_URL_PREFIX`, `s3Bucket` → `S3_BUCKET`. */
export function upperSnakeCase(key: string): string {
  return key
    .replace(/([a-z0-9])([A-Z])/g, '$1_$2')
    .replace(/([A-Z]+)([A-Z][a-z])/g, '$1_$2')
    .replace(/[^A-Za-z0-9]+/g, '_')
    .replace(/^_+|_+$/g, '')
    .toUpperCase();
}

/**
 * Renders a resolved config as environment variables for a command handler.
 *
 * @throws {@link ConfigError} naming each field and variable whose value holds a NUL byte (no
 *   environment variable can: `spawn` would fail with a message quoting the value)
 */
export function toEnvironment(plan: readonly FieldPlan[], config: Readonly<Record<string, unknown>>): Record<string, string> {
  const out: Record<string, string> = {};
  let issues: ConfigIssue[] | undefined;
  for (const { key, field } of plan) {
    const value = config[key];
    if (value === undefined || value === null) continue;
    const name = field.settings.envName ?? upperSnakeCase(key);
    const text = render(value);
    if (text.includes('\u0000')) {
      (issues ??= []).push({
        field: key,
        source: (field.sources[0] as Source).kind,
        location: field.sources.map(locationOf).join(', '),
        reason: 'invalid',
        message: `invalid: cannot be passed to the command as environment variable ${name}: the value contains a NUL byte (use a binary-safe format, e.g. format: 'binary' for base64)`,
      });
      continue;
    }
    out[name] = text;
  }
  if (issues !== undefined) throw new ConfigError(issues);
  return out;
}

function render(value: unknown): string {
  if (typeof value === 'string') return value;
  if (value instanceof Uint8Array) return Buffer.from(value.buffer, value.byteOffset, value.byteLength).toString('base64');
  if (value instanceof Date) return value.toISOString();
  if (typeof value === 'object') return JSON.stringify(value);
  return String(value);
}
