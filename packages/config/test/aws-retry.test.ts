import { afterEach, describe, expect, it } from 'vitest';
import { failureFromError } from '../src/aws-errors.js';
import { AwsCallError, errorCodeOf } from '../src/aws/call-error.js';
import { clockOffsetMs, correctClock, forgetClockOffset, isClockSkewError } from '../src/aws/clock-skew.js';
import { isRetryable, maxAttempts, retryDelayMs } from '../src/aws/retry.js';

afterEach(() => forgetClockOffset());

// Classification and delays of the SDK's standard retry: @smithy/core 3.41
// dist-cjs/submodules/retry/index.js (THROTTLING_ERROR_CODES, TRANSIENT_ERROR_STATUS_CODES,
// NODEJS_TIMEOUT_ERROR_CODES, Retry.delay() = 50, Retry.throttlingDelay() = 1000, MAXIMUM_RETRY_DELAY).
describe('standard retry', () => {
  it('retries throttling, 500/502/503/504, timeouts and network errors; nothing else', () => {
    expect(isRetryable(new AwsCallError('ThrottlingException', 'm', { status: 400 }))).toBe(true);
    expect(isRetryable(new AwsCallError('Whatever', 'm', { status: 429 }))).toBe(true);
    for (const status of [500, 502, 503, 504]) expect(isRetryable(new AwsCallError('X', 'm', { status }))).toBe(true);
    expect(isRetryable(new AwsCallError('X', 'm', { status: 501 }))).toBe(false);
    expect(isRetryable(new AwsCallError('TimeoutError', 'm'))).toBe(true);
    expect(isRetryable(new AwsCallError('Error', 'm', { code: 'ECONNRESET' }))).toBe(true);
    expect(isRetryable(new AwsCallError('ResourceNotFoundException', 'm', { status: 400 }))).toBe(false);
    expect(isRetryable(new AwsCallError('CredentialsProviderError', 'm'))).toBe(false);
  });

  it('waits random * min(base * 2^i, 20 s): 50 ms base, 1 s for throttling', () => {
    const server = new AwsCallError('InternalFailure', 'm', { status: 500 });
    const throttled = new AwsCallError('ThrottlingException', 'm', { status: 400 });
    const top = (): number => 0.999999;
    expect(retryDelayMs(server, 0, top)).toBe(49);
    expect(retryDelayMs(server, 2, top)).toBe(199);
    expect(retryDelayMs(throttled, 0, top)).toBe(999);
    expect(retryDelayMs(throttled, 10, top)).toBe(19_999);
    expect(retryDelayMs(throttled, 3, () => 0)).toBe(0);
  });

  it('reads AWS_MAX_ATTEMPTS, 3 by default or when it is not a positive integer', () => {
    expect(maxAttempts({})).toBe(3);
    expect(maxAttempts({ AWS_MAX_ATTEMPTS: '5' })).toBe(5);
    expect(maxAttempts({ AWS_MAX_ATTEMPTS: '0' })).toBe(3);
    expect(maxAttempts({ AWS_MAX_ATTEMPTS: 'x' })).toBe(3);
  });

  it('reads the error code as the SDK does: header first, then code / __type without namespace', () => {
    expect(errorCodeOf('ThrottlingException:http://internal.amazon.com/', {})).toBe('ThrottlingException');
    expect(errorCodeOf(undefined, { __type: 'com.amazonaws.kms#NotFoundException', message: 'm' })).toBe('NotFoundException');
    expect(errorCodeOf(undefined, { code: 'AccessDeniedException' })).toBe('AccessDeniedException');
    expect(errorCodeOf(undefined, 'not json')).toBeUndefined();
  });
});

describe('clock skew', () => {
  it('knows expiry and skew answers from a wrong key', () => {
    expect(isClockSkewError({ name: 'InvalidSignatureException', message: 'Signature expired: 20260101T000000Z is now earlier than …' })).toBe(true);
    expect(isClockSkewError({ name: 'InvalidSignatureException', message: 'Signature not yet current: …' })).toBe(true);
    expect(isClockSkewError({ name: 'RequestTimeTooSkewed', message: 'm' })).toBe(true);
    expect(isClockSkewError({ name: 'InvalidSignatureException', message: 'The request signature we calculated does not match …' })).toBe(false);
  });

  it('takes the offset from a Date header 5 minutes or more away, and only then', () => {
    expect(correctClock(new Date(Date.now() + 60_000).toUTCString())).toBe(false);
    expect(clockOffsetMs()).toBe(0);
    expect(correctClock(new Date(Date.now() - 30 * 60_000).toUTCString())).toBe(true);
    expect(clockOffsetMs()).toBeLessThan(-29 * 60_000);
    expect(correctClock('not a date')).toBe(false);
    expect(correctClock(undefined)).toBe(false);
  });
});

describe('failures of the lean path', () => {
  it('names the timeout, the credentials and the clock, all unavailable (retried later)', () => {
    expect(failureFromError('secretsmanager', new AwsCallError('TimeoutError', 'could not connect within 1000 ms (connect timeout)'))).toEqual({
      kind: 'unavailable',
      code: 'TimeoutError',
      message: 'timed out: could not connect within 1000 ms (connect timeout)',
    });
    expect(failureFromError('kms', Object.assign(new Error('Server responded with status: 403'), { name: 'CredentialsProviderError' }))).toMatchObject({
      kind: 'unavailable',
      message: 'could not load AWS credentials: Server responded with status: 403',
    });
    expect(failureFromError('kms', new AwsCallError('InvalidSignatureException', 'Signature expired: …', { status: 400 }))).toMatchObject({
      kind: 'unavailable',
      code: 'InvalidSignatureException',
    });
    expect(failureFromError('kms', new AwsCallError('InvalidSignatureException', 'The request signature we calculated does not match', { status: 400 }))).toMatchObject({
      kind: 'invalid-request',
    });
    expect(failureFromError('secretsmanager', new AwsCallError('Error', 'ECONNREFUSED talking to 127.0.0.1:9', { code: 'ECONNREFUSED' }))).toEqual({
      kind: 'unavailable',
      code: 'ECONNREFUSED',
      message: 'could not reach Secrets Manager (ECONNREFUSED)',
    });
  });
});
