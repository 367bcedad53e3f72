import type { output } from 'zod/v4/core';
import { failureFromError } from '../aws-errors.js';
import type { FetchResult } from '../cache.js';
import type { KmsApi } from '../clients.js';
import { FetchedValue } from '../fetched-value.js';
import {
  ConfigField,
  isSchema,
  PayloadField,
  type EncryptionContextOption,
  type KmsSource,
  type Schema,
  type ValueFormat,
} from '../field.js';
import { envSource } from './env.js';

// A built-in from process.getBuiltinModule, not an import: docs/design.md, "Built-in modules".
const { createHash } = process.getBuiltinModule('node:crypto');

/** How a KMS ciphertext is decrypted. */
export interface KmsOptions {
  /**
   * The encryption context the ciphertext was encrypted with: a record, or `'function-name'`
   * for the Lambda console's encryption helper (`{ LambdaFunctionName: AWS_LAMBDA_FUNCTION_NAME }`).
   * Default: none.
   */
  readonly encryptionContext?: EncryptionContextOption;
  /** Key id or ARN to require (needed for asymmetric keys). */
  readonly keyId?: string;
  /** How the plaintext is handed to the schema; `auto` reads it as UTF-8 text. */
  readonly format?: ValueFormat;
}

/**
 * A field decrypted with KMS `Decrypt`. The input is the name of an env var holding base64
 * ciphertext, or `payload('path')` for ciphertext passed in the event (the payload field's own
 * schema is not used).
 *
 * @example
 * ```ts
 * legacyToken: kms('LEGACY_TOKEN_ENCRYPTED', { encryptionContext: 'function-name' }),
 * cardNumber: kms(payload('card.encrypted'), z.string().regex(/^\d{16}$/)),
 * ```
 */
export function kms(input: string | PayloadField<unknown>, options?: KmsOptions): ConfigField<string>;
export function kms<S extends Schema>(
  input: string | PayloadField<unknown>,
  schema: S,
  options?: KmsOptions,
): ConfigField<output<S>>;
export function kms(
  input: string | PayloadField<unknown>,
  schemaOrOptions?: Schema | KmsOptions,
  maybeOptions?: KmsOptions,
): ConfigField<unknown> {
  const schema = isSchema(schemaOrOptions) ? schemaOrOptions : undefined;
  const options: KmsOptions = (isSchema(schemaOrOptions) ? maybeOptions : schemaOrOptions) ?? {};
  let from: KmsSource['input'];
  if (typeof input === 'string') {
    from = envSource(input);
  } else if (input instanceof PayloadField && input.sources[0]?.kind === 'payload') {
    from = input.sources[0];
  } else {
    throw new TypeError('kms: the input must be an env var name or payload(path)');
  }
  const context = options.encryptionContext;
  if (context !== undefined && context !== 'function-name') {
    if (typeof context !== 'object' || Object.values(context).some((v) => typeof v !== 'string')) {
      throw new TypeError("kms: encryptionContext must be a record of strings or 'function-name'");
    }
  }
  const source: KmsSource = Object.freeze({
    kind: 'kms',
    input: from,
    encryptionContext: context === undefined || context === 'function-name' ? context : Object.freeze({ ...context }),
    keyId: options.keyId,
    format: options.format ?? 'auto',
  });
  return new ConfigField([source], schema);
}

/** What one `Decrypt` call needs. */
export interface KmsRequest {
  readonly ciphertext: Uint8Array;
  readonly context: Readonly<Record<string, string>> | undefined;
  /** The context was built from the function name (`encryptionContext: 'function-name'`). */
  readonly fromFunctionName: boolean;
  readonly keyId: string | undefined;
  /** Ciphertext digest and context: identifies the request without holding the ciphertext in keys. */
  readonly identity: string;
}

const BASE64 = /^[A-Za-z0-9+/]+={0,2}$/;

/** Builds the request for `text` (base64 ciphertext), or says why it can't be sent. */
export function kmsRequest(
  source: KmsSource,
  text: unknown,
): { readonly ok: true; readonly request: KmsRequest } | { readonly ok: false; readonly message: string } {
  if (typeof text !== 'string') return { ok: false, message: 'the ciphertext must be a base64 string' };
  const compact = text.replace(/\s+/g, '');
  if (compact.length % 4 !== 0 || !BASE64.test(compact)) {
    return { ok: false, message: 'the ciphertext is not valid base64' };
  }
  let context: Readonly<Record<string, string>> | undefined;
  if (source.encryptionContext === 'function-name') {
    const functionName = process.env.AWS_LAMBDA_FUNCTION_NAME;
    if (!functionName) {
      return { ok: false, message: "encryptionContext 'function-name' needs AWS_LAMBDA_FUNCTION_NAME" };
    }
    context = { LambdaFunctionName: functionName };
  } else {
    context = source.encryptionContext;
  }
  const ciphertext = Buffer.from(compact, 'base64');
  const digest = createHash('sha256').update(ciphertext).digest('base64url');
  const contextKey = context === undefined ? '' : JSON.stringify(Object.entries(context).sort(([a], [b]) => (a < b ? -1 : 1)));
  return {
    ok: true,
    request: { ciphertext, context, fromFunctionName: source.encryptionContext === 'function-name', keyId: source.keyId, identity: `${digest}\u0000${contextKey}\u0000${source.keyId ?? ''}` },
  };
}

/**
 * InvalidCiphertextException: the ciphertext is damaged or was encrypted with another context.
 * The message shows the context sent and the one to try; an encryption context is not secret (KMS
 * logs it in CloudTrail in plain text), and here it is a function name or the definition's record.
 */
function wrongContextMessage(request: KmsRequest): string {
  const functionName = process.env.AWS_LAMBDA_FUNCTION_NAME;
  const consoleContext = JSON.stringify({ LambdaFunctionName: functionName || '<function name>' });
  const lead = 'bad ciphertext or wrong encryption context (InvalidCiphertextException)';
  if (request.context === undefined) {
    return `${lead}: sent no encryption context; if it was encrypted with one (the Lambda console's helper uses ${consoleContext}), declare it: encryptionContext: 'function-name' or the record`;
  }
  const sent = JSON.stringify(request.context);
  if (request.fromFunctionName) {
    return `${lead}: sent ${sent} (encryptionContext 'function-name'); if it was encrypted for another function name, give that context as a record, or leave encryptionContext out if it was encrypted without one`;
  }
  return `${lead}: sent ${sent}; give the context it was encrypted with, leave encryptionContext out if it had none, or use 'function-name' for the Lambda console's ${consoleContext}`;
}

/** Cache key: client, ciphertext digest, context and key id. */
export function kmsCacheKey(client: number, request: KmsRequest): string {
  return `kms\u0000${client}\u0000${request.identity}`;
}

/** Decrypts every request in parallel. */
export async function decryptAll(
  client: KmsApi,
  requests: ReadonlyMap<string, KmsRequest>,
): Promise<Map<string, FetchResult>> {
  const results = new Map<string, FetchResult>();
  await Promise.all(
    [...requests].map(async ([key, request]) => {
      try {
        const out = await client.decrypt({
          CiphertextBlob: request.ciphertext,
          EncryptionContext: request.context === undefined ? undefined : { ...request.context },
          KeyId: request.keyId,
        });
        results.set(key, { ok: true, value: new FetchedValue(undefined, out.Plaintext ?? new Uint8Array()) });
      } catch (error) {
        const failure = failureFromError('kms', error);
        results.set(key, {
          ok: false,
          failure: failure.code === 'InvalidCiphertextException' ? { ...failure, message: wrongContextMessage(request) } : failure,
        });
      }
    }),
  );
  return results;
}
