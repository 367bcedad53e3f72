/**
 * The SDK's standard retry, as the lean path applies it. Facts from @smithy/core 3.41
 * dist-cjs/submodules/retry/index.js: THROTTLING_ERROR_CODES, TRANSIENT_ERROR_CODES,
 * TRANSIENT_ERROR_STATUS_CODES [500, 502, 503, 504], NODEJS_TIMEOUT_ERROR_CODES and
 * NODEJS_NETWORK_ERROR_CODES; full-jitter backoff `random * min(base * 2^i, 20 s)` with a base of
 * 50 ms, 1 s for throttling (class Retry, DefaultRetryBackoffStrategy); 3 attempts unless
 * `AWS_MAX_ATTEMPTS`.
 */
import type { AwsCallError } from './call-error.js';

const THROTTLING = new Set([
  'BandwidthLimitExceeded',
  'EC2ThrottledException',
  'LimitExceededException',
  'PriorRequestNotComplete',
  'ProvisionedThroughputExceededException',
  'RequestLimitExceeded',
  'RequestThrottled',
  'RequestThrottledException',
  'SlowDown',
  'ThrottledException',
  'Throttling',
  'ThrottlingException',
  'TooManyRequestsException',
  'TransactionInProgressException',
]);
const TRANSIENT_CODES = new Set(['TimeoutError', 'RequestTimeout', 'RequestTimeoutException']);
const TRANSIENT_STATUS = new Set([500, 502, 503, 504]);
const NETWORK_CODES = new Set(['ECONNRESET', 'ECONNREFUSED', 'EPIPE', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'ENOTFOUND', 'EAI_AGAIN']);

const BASE_DELAY_MS = 50;
const THROTTLING_BASE_DELAY_MS = 1_000;
const MAX_DELAY_MS = 20_000;
const DEFAULT_MAX_ATTEMPTS = 3;

/** Attempts per call: `AWS_MAX_ATTEMPTS` (a positive integer), else 3. */
export function maxAttempts(env: NodeJS.ProcessEnv = process.env): number {
  const value = Number(env.AWS_MAX_ATTEMPTS);
  return Number.isInteger(value) && value >= 1 ? value : DEFAULT_MAX_ATTEMPTS;
}

/** True for the throttling error codes (or HTTP 429). */
export function isThrottling(error: AwsCallError): boolean {
  return THROTTLING.has(error.name) || error.status === 429;
}

/** True for failures worth retrying: throttling, 5xx, timeouts and network errors. */
export function isRetryable(error: AwsCallError): boolean {
  return (
    isThrottling(error) ||
    TRANSIENT_CODES.has(error.name) ||
    (error.status !== undefined && TRANSIENT_STATUS.has(error.status)) ||
    (error.code !== undefined && NETWORK_CODES.has(error.code))
  );
}

/** Delay before retry number `retryIndex` (0 for the first retry), with full jitter. */
export function retryDelayMs(error: AwsCallError, retryIndex: number, random: () => number = Math.random): number {
  const base = isThrottling(error) ? THROTTLING_BASE_DELAY_MS : BASE_DELAY_MS;
  return Math.floor(random() * Math.min(base * 2 ** retryIndex, MAX_DELAY_MS));
}
