import { isClockSkewError } from './aws/clock-skew.js';
import { describeCredentialsFailure } from './aws/credentials.js';

/** Why a value could not be fetched or decrypted. */
export type FailureKind =
  | 'not-found'
  | 'access-denied'
  | 'decryption-failure'
  | 'bad-ciphertext'
  | 'key-unusable'
  | 'invalid-request'
  | 'throttled'
  | 'unavailable';

/** A fetch failure, described without values or ciphertext. */
export interface FetchFailure {
  readonly kind: FailureKind;
  /** The AWS error code (e.g. `ResourceNotFoundException`) or a local code. */
  readonly code: string;
  /** One line for humans. */
  readonly message: string;
}

/** Worth retrying later (a cached value may be served meanwhile). */
export function isTransient(failure: FetchFailure): boolean {
  return failure.kind === 'throttled' || failure.kind === 'unavailable';
}

/** Failures that follow a rotation (new key, new policy): the cached value must not be kept. */
export function isRotationFailure(failure: FetchFailure): boolean {
  return failure.kind === 'access-denied' || failure.kind === 'decryption-failure';
}

const THROTTLING = new Set([
  'ThrottlingException',
  'Throttling',
  'ThrottledException',
  'TooManyRequestsException',
  'RequestLimitExceeded',
  'LimitExceededException',
  'RequestThrottled',
  'SlowDown',
]);

interface SdkErrorShape {
  readonly name?: unknown;
  readonly code?: unknown;
  readonly message?: unknown;
  readonly $fault?: unknown;
  readonly $retryable?: { readonly throttling?: unknown };
  readonly $metadata?: { readonly httpStatusCode?: unknown; readonly attempts?: unknown };
}

type Service = 'secretsmanager' | 'kms' | 'ssm';

/** Maps an error code (from an SDK exception or a batch item) to a failure. */
export function failureFromCode(service: Service, code: string, attempts?: number): FetchFailure {
  return knownFailure(service, code, attempts) ?? { kind: 'invalid-request', code, message: `failed with ${code}` };
}

function knownFailure(service: Service, code: string, attempts: number | undefined): FetchFailure | undefined {
  const after = attempts !== undefined && attempts > 1 ? ` after ${attempts} attempts` : '';
  if (THROTTLING.has(code)) return { kind: 'throttled', code, message: `throttled${after || ' after retries'}` };
  switch (code) {
    case 'ResourceNotFoundException':
      return { kind: 'not-found', code, message: 'secret not found' };
    case 'ParameterNotFound':
      return { kind: 'not-found', code, message: 'parameter not found' };
    case 'ParameterVersionNotFound':
      return { kind: 'not-found', code, message: 'parameter version or label not found' };
    case 'InvalidKeyId':
      return { kind: 'key-unusable', code, message: 'Systems Manager could not use the KMS key of the SecureString' };
    case 'NotFoundException':
      return { kind: 'not-found', code, message: 'KMS key not found' };
    case 'AccessDeniedException':
    case 'AccessDenied':
      return { kind: 'access-denied', code, message: 'access denied' };
    case 'DecryptionFailure':
      return { kind: 'decryption-failure', code, message: 'Secrets Manager could not decrypt the secret' };
    case 'InvalidCiphertextException':
      return { kind: 'bad-ciphertext', code, message: 'bad ciphertext or wrong encryption context' };
    case 'IncorrectKeyException':
      return { kind: 'bad-ciphertext', code, message: 'the ciphertext was encrypted under another KMS key' };
    case 'DisabledException':
    case 'KMSInvalidStateException':
    case 'KeyUnavailableException':
      return { kind: 'key-unusable', code, message: `the KMS key is not usable (${code})` };
    case 'InvalidRequestException':
      return {
        kind: 'invalid-request',
        code,
        message:
          service === 'secretsmanager'
            ? 'the secret cannot be read now (e.g. scheduled for deletion)'
            : 'KMS rejected the request',
      };
    case 'InvalidParameterException':
      return { kind: 'invalid-request', code, message: 'rejected as an invalid parameter' };
    case 'InternalServiceError':
    case 'InternalServerError':
    case 'InternalFailure':
    case 'KMSInternalException':
    case 'DependencyTimeoutException':
    case 'ServiceUnavailable':
      return { kind: 'unavailable', code, message: `service error (${code})${after}` };
    default:
      return undefined;
  }
}

/** Maps anything thrown by an SDK call to a failure. */
export function failureFromError(service: Service, error: unknown): FetchFailure {
  const e = (typeof error === 'object' && error !== null ? error : {}) as SdkErrorShape;
  const name = typeof e.name === 'string' ? e.name : 'Error';
  const status = typeof e.$metadata?.httpStatusCode === 'number' ? e.$metadata.httpStatusCode : undefined;
  const attempts = typeof e.$metadata?.attempts === 'number' ? e.$metadata.attempts : undefined;
  if (e.$retryable?.throttling === true || THROTTLING.has(name)) {
    return failureFromCode(service, THROTTLING.has(name) ? name : 'ThrottlingException', attempts);
  }
  if (name === 'TimeoutError') {
    // The lean path's messages name the deadline (connect, attempt or call timeout) and its value.
    const detail = typeof e.message === 'string' && e.message !== '' ? e.message : 'no answer in time';
    return { kind: 'unavailable', code: name, message: `timed out: ${detail}` };
  }
  const text = typeof e.message === 'string' ? e.message : '';
  if (name === 'CredentialsProviderError') {
    // Still `unavailable`: after a SnapStart restore credentials can arrive late; a cached value may serve.
    return { kind: 'unavailable', code: name, message: describeCredentialsFailure(text) };
  }
  if (status === undefined && text === 'Region is missing') {
    // The SDK clients' region check (@smithy/core config, resolveRegionConfig), before any request.
    return { kind: 'invalid-request', code: 'RegionMissing', message: 'no AWS region: set AWS_REGION (Lambda sets it)' };
  }
  if (isClockSkewError({ name, message: text })) {
    // Re-signed and retried already: a clock problem, never a permanent failure of the value.
    return { kind: 'unavailable', code: name, message: `request signature expired or clock skewed (${name})` };
  }
  if (status === undefined) {
    // No HTTP response: the endpoint could not be reached, or the client is misconfigured.
    const code = typeof e.code === 'string' ? e.code : name;
    const what = service === 'secretsmanager' ? 'Secrets Manager' : service === 'ssm' ? 'Systems Manager' : 'KMS';
    return { kind: 'unavailable', code, message: `could not reach ${what} (${code})` };
  }
  const known = knownFailure(service, name, attempts);
  if (known !== undefined) return known;
  if (status >= 500) return { kind: 'unavailable', code: name, message: `service error (HTTP ${status})` };
  return { kind: 'invalid-request', code: name, message: `failed with ${name} (HTTP ${status})` };
}
