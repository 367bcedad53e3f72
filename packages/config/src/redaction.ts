// A built-in from process.getBuiltinModule, not an import: docs/design.md, "Built-in modules".
const { inspect } = process.getBuiltinModule('node:util');

/** What a secret value is shown as. */
export const REDACTED = '[redacted]';

/** Stands in for a sensitive value wherever a config can be rendered. */
class Redacted {
  [inspect.custom](): string {
    return REDACTED;
  }
  toJSON(): string {
    return REDACTED;
  }
}
const placeholder = new Redacted();

// Shorter strings would mangle ordinary words in messages and are not plausible secrets.
const MIN_SCRUB_LENGTH = 4;

/**
 * Every string (and number, as text) inside a raw value, at any depth and count: a string, or
 * the leaves of a parsed JSON value. Object keys are names, not values, and are kept. Only
 * called when an error is built, never on the warm path.
 */
export function secretStrings(raw: unknown, ...texts: ReadonlyArray<string | undefined>): string[] {
  const found = new Set<string>();
  const add = (text: string): void => {
    if (text.length >= MIN_SCRUB_LENGTH) found.add(text);
  };
  for (const text of texts) if (text !== undefined) add(text);
  const seen = new Set<object>();
  // An explicit stack, so no depth of nesting can overflow the call stack.
  const stack: unknown[] = [raw];
  while (stack.length > 0) {
    const value = stack.pop();
    if (typeof value === 'string') {
      add(value);
      // The forms a message echoing its input gives: JSON.stringify and util.inspect escape quotes,
      // backslashes and control characters (generated passwords have them); a schema coercing
      // "007123456" to a number echoes 7123456.
      add(JSON.stringify(value).slice(1, -1));
      add(inspect(value).slice(1, -1));
      const number = value.trim() === '' ? Number.NaN : Number(value);
      if (Number.isFinite(number)) add(String(number));
    }
    else if (typeof value === 'number' || typeof value === 'bigint') add(String(value));
    else if (value instanceof Uint8Array) add(Buffer.from(value.buffer, value.byteOffset, value.byteLength).toString('utf8'));
    else if (typeof value === 'object' && value !== null && !ArrayBuffer.isView(value) && !seen.has(value)) {
      seen.add(value);
      for (const item of Object.values(value)) stack.push(item);
    }
  }
  // Longest first, so a value containing another is replaced whole.
  return [...found].sort((a, b) => b.length - a.length);
}

/** `text` with every occurrence of the given values replaced by {@link REDACTED}. */
export function scrub(text: string, values: readonly string[]): string {
  let out = text;
  for (const value of values) {
    if (out.includes(value)) out = out.split(value).join(REDACTED);
  }
  return out;
}

const reject = (): boolean => false;

/**
 * Makes the config objects of one definition. Without sensitive fields a config is a plain
 * object (frozen when it is shared between invocations). With them it is a Proxy whose target
 * holds placeholders in place of the sensitive values and whose `get` trap returns the real
 * ones: `util.inspect` (so every `console` method, with any options) formats a Proxy's target
 * without running its traps, and with `showProxy` prints target and handler, never the closure
 * holding the values. `JSON.stringify` reads `toJSON` through the trap, and that `toJSON`
 * redacts. Property reads, spreading and `Object.entries` return the real values.
 */
export class ConfigShape {
  readonly #sensitive: readonly string[];
  readonly #toJSON: (this: Record<string, unknown>) => Record<string, unknown>;

  constructor(sensitiveKeys: readonly string[]) {
    this.#sensitive = sensitiveKeys;
    const sensitive = new Set(sensitiveKeys);
    // JSON log formats (ours and the managed runtime's) stringify a logged object; `this` is
    // the Proxy, so its reads return real values, and the sensitive ones are replaced.
    this.#toJSON = function toJSON(this: Record<string, unknown>): Record<string, unknown> {
      const out: Record<string, unknown> = {};
      for (const key of Object.keys(this)) {
        const value = this[key];
        out[key] = sensitive.has(key) && value !== undefined ? REDACTED : value;
      }
      return out;
    };
  }

  /** The config object for `values` (an object this takes over). */
  seal(values: Record<string, unknown>, freeze: boolean): object {
    if (this.#sensitive.length === 0) return freeze ? Object.freeze(values) : values;
    const target: Record<string, unknown> = { ...values };
    for (const key of this.#sensitive) if (target[key] !== undefined) target[key] = placeholder;
    const toJSON = this.#toJSON;
    // Freezing the target would oblige the get trap to return its placeholders (a Proxy
    // invariant); writes are refused by the traps instead.
    return new Proxy(target, {
      get: (_target, key) => {
        const value = values[key as string];
        return value === undefined && key === 'toJSON' ? toJSON : value;
      },
      set: reject,
      defineProperty: reject,
      deleteProperty: reject,
      setPrototypeOf: reject,
    });
  }
}
