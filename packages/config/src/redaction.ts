import { inspect, type InspectOptionsStylized } from 'node:util';

/** What a secret value is shown as. */
export const REDACTED = '[redacted]';

/** Stands in for a secret value in `inspect` and `JSON.stringify` output. */
class Redacted {
  [inspect.custom](): string {
    return REDACTED;
  }
  toJSON(): string {
    return REDACTED;
  }
}
const redacted = new Redacted();

// Shorter strings would mangle ordinary words in messages and are not plausible secrets.
const MIN_SCRUB_LENGTH = 4;
const MAX_SCRUB_STRINGS = 64;

/** The strings inside a raw value (a string, or the leaves of a parsed JSON secret). */
export function secretStrings(raw: unknown): string[] {
  const found: string[] = [];
  const visit = (value: unknown, depth: number): void => {
    if (found.length >= MAX_SCRUB_STRINGS) return;
    if (typeof value === 'string') {
      if (value.length >= MIN_SCRUB_LENGTH) found.push(value);
    } else if (typeof value === 'number' || typeof value === 'bigint') {
      const text = String(value);
      if (text.length >= MIN_SCRUB_LENGTH) found.push(text);
    } else if (typeof value === 'object' && value !== null && depth < 5 && !ArrayBuffer.isView(value)) {
      for (const item of Object.values(value)) visit(item, depth + 1);
    }
  };
  visit(raw, 0);
  // Longest first, so a value containing another is replaced whole.
  return found.sort((a, b) => b.length - a.length);
}

/** `text` with every occurrence of the given values replaced by {@link REDACTED}. */
export function scrub(text: string, values: readonly string[]): string {
  let out = text;
  for (const value of values) {
    if (out.includes(value)) out = out.split(value).join(REDACTED);
  }
  return out;
}

/**
 * A prototype for resolved config objects whose `inspect` output (so `console.log(cfg)`) shows
 * the fields fed by Secrets Manager or KMS as {@link REDACTED}. Own properties stay plain.
 */
export function redactingPrototype(secretKeys: ReadonlySet<string>): object {
  return Object.create(Object.prototype, {
    [inspect.custom]: {
      value(this: Record<string, unknown>, _depth: number, options: InspectOptionsStylized, show: typeof inspect) {
        const view: Record<string, unknown> = {};
        for (const key of Object.keys(this)) {
          const value = this[key];
          view[key] = secretKeys.has(key) && value !== undefined ? redacted : value;
        }
        return show(view, options);
      },
    },
  }) as object;
}
