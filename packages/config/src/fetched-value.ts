import type { ValueFormat } from './field.js';
import { REDACTED } from './redaction.js';

// A built-in from process.getBuiltinModule, not an import: docs/design.md, "Built-in modules".
const { inspect } = process.getBuiltinModule('node:util');

type JsonResult = { readonly ok: true; readonly value: unknown } | { readonly ok: false };

const utf8 = new TextDecoder('utf-8');
const encoder = new TextEncoder();
const LOOKS_LIKE_JSON = /^\s*[[{]/;

/**
 * A secret or decrypted plaintext as fetched. Prints as `[redacted]`, and parses its JSON at
 * most once however many fields read it.
 */
export class FetchedValue {
  readonly #text: string | undefined;
  readonly #binary: Uint8Array | undefined;
  #json: JsonResult | undefined;

  constructor(text: string | undefined, binary: Uint8Array | undefined) {
    this.#text = text;
    this.#binary = binary;
  }

  /** True when the value only exists as bytes (`SecretBinary`, KMS plaintext). */
  get isBinary(): boolean {
    return this.#text === undefined;
  }

  text(): string {
    return this.#text ?? utf8.decode(this.#binary ?? new Uint8Array());
  }

  bytes(): Uint8Array {
    return this.#binary ?? encoder.encode(this.#text ?? '');
  }

  json(): JsonResult {
    if (this.#json === undefined) {
      try {
        this.#json = { ok: true, value: JSON.parse(this.text()) as unknown };
      } catch {
        this.#json = { ok: false };
      }
    }
    return this.#json;
  }

  [inspect.custom](): string {
    return `FetchedValue ${REDACTED}`;
  }

  toJSON(): string {
    return REDACTED;
  }
}

/** What a fetched value yields for one field. */
export type Decoded =
  | { readonly kind: 'present'; readonly raw: unknown }
  | { readonly kind: 'absent'; readonly note: string | undefined }
  | { readonly kind: 'error'; readonly message: string };

/** How to turn a fetched value into the raw value a field's schema sees. */
export interface DecodeOptions {
  readonly format: ValueFormat;
  readonly jsonKey: string | undefined;
  readonly hasCustomSchema: boolean;
  /** KMS plaintext is always bytes; in `auto` it is read as text. */
  readonly bytesAreText: boolean;
}

const INERT_KEYS = new Set(['__proto__', 'constructor', 'prototype']);

/** Applies JSON key and format rules; an empty string or a missing key is absent. */
export function decode(value: FetchedValue, options: DecodeOptions): Decoded {
  if (options.jsonKey !== undefined) {
    const json = value.json();
    const key = options.jsonKey;
    if (!json.ok) return { kind: 'error', message: `not JSON, so JSON key "${key}" cannot be read` };
    const object = json.value;
    if (typeof object !== 'object' || object === null || Array.isArray(object)) {
      return { kind: 'error', message: `not a JSON object, so JSON key "${key}" cannot be read` };
    }
    if (INERT_KEYS.has(key) || !Object.hasOwn(object, key)) {
      return { kind: 'absent', note: `JSON key "${key}" not in the secret` };
    }
    return present((object as Record<string, unknown>)[key]);
  }
  switch (options.format) {
    case 'binary':
      return { kind: 'present', raw: value.bytes() };
    case 'text':
      return present(value.text());
    case 'json': {
      const json = value.json();
      return json.ok ? present(json.value) : { kind: 'error', message: 'not valid JSON' };
    }
    case 'auto': {
      if (value.isBinary && !options.bytesAreText) return { kind: 'present', raw: value.bytes() };
      const text = value.text();
      if (options.hasCustomSchema && LOOKS_LIKE_JSON.test(text)) {
        const json = value.json();
        if (json.ok) return present(json.value);
      }
      return present(text);
    }
  }
}

function present(raw: unknown): Decoded {
  return raw === undefined || raw === null || raw === ''
    ? { kind: 'absent', note: undefined }
    : { kind: 'present', raw };
}
