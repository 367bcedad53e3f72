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
 * A prototype for resolved config objects whose `inspect` output (so `console.log(cfg)`) and
 * `JSON.stringify` output show the fields fed by Secrets Manager or KMS as {@link REDACTED}.
 * Own properties stay plain.
 */
export function redactingPrototype(secretKeys: ReadonlySet<string>): object {
  const view = (config: Record<string, unknown>): Record<string, unknown> => {
    const out: Record<string, unknown> = {};
    for (const key of Object.keys(config)) {
      const value = config[key];
      out[key] = secretKeys.has(key) && value !== undefined ? redacted : value;
    }
    return out;
  };
  return Object.create(Object.prototype, {
    [inspect.custom]: {
      value(this: Record<string, unknown>, _depth: number, options: InspectOptionsStylized, show: typeof inspect) {
        return show(view(this), options);
      },
    },
    // JSON log formats (ours and the managed runtime's) render a logged object with
    // JSON.stringify, so `console.log(cfg)` must redact there too.
    toJSON: {
      value(this: Record<string, unknown>) {
        return view(this);
      },
    },
  }) as object;
}
