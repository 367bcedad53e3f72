import { describe, expect, it } from 'vitest';
import { failureFromCode, failureFromError, isRotationFailure, isTransient } from '../src/aws-errors.js';

describe('AWS error classification', () => {
  it.each([
    ['secretsmanager', 'ResourceNotFoundException', 'not-found', 'secret not found'],
    ['kms', 'NotFoundException', 'not-found', 'KMS key not found'],
    ['secretsmanager', 'AccessDeniedException', 'access-denied', 'access denied'],
    ['secretsmanager', 'DecryptionFailure', 'decryption-failure', 'Secrets Manager could not decrypt the secret'],
    ['kms', 'InvalidCiphertextException', 'bad-ciphertext', 'bad ciphertext or wrong encryption context'],
    ['kms', 'IncorrectKeyException', 'bad-ciphertext', 'the ciphertext was encrypted under another KMS key'],
    ['kms', 'KMSInvalidStateException', 'key-unusable', 'the KMS key is not usable (KMSInvalidStateException)'],
    ['secretsmanager', 'InternalServiceError', 'unavailable', 'service error (InternalServiceError)'],
    ['secretsmanager', 'SomethingNew', 'invalid-request', 'failed with SomethingNew'],
  ] as const)('%s %s → %s', (service, code, kind, message) => {
    expect(failureFromCode(service, code)).toEqual({ kind, code, message });
  });

  it('reads throttling, attempts and HTTP status from SDK errors', () => {
    const sdkError = (name: string, status: number | undefined, extra: object = {}): unknown =>
      Object.assign(new Error('m'), { name, $metadata: status === undefined ? {} : { httpStatusCode: status, attempts: 3 } }, extra);
    expect(failureFromError('kms', sdkError('ThrottlingException', 400))).toMatchObject({
      kind: 'throttled',
      message: 'throttled after 3 attempts',
    });
    expect(failureFromError('kms', sdkError('Custom', 429, { $retryable: { throttling: true } }))).toMatchObject({
      kind: 'throttled',
    });
    expect(failureFromError('secretsmanager', sdkError('Weird', 503))).toMatchObject({
      kind: 'unavailable',
      message: 'service error (HTTP 503)',
    });
    expect(failureFromError('secretsmanager', sdkError('Weird', 418))).toMatchObject({ kind: 'invalid-request' });
    expect(failureFromError('kms', Object.assign(new Error('connect'), { code: 'ECONNREFUSED' }))).toEqual({
      kind: 'unavailable',
      code: 'ECONNREFUSED',
      message: 'could not reach KMS (ECONNREFUSED)',
    });
    expect(failureFromError('kms', 'not even an error')).toMatchObject({ kind: 'unavailable' });
  });

  it('knows which failures are transient and which follow a rotation', () => {
    expect(isTransient(failureFromCode('kms', 'ThrottlingException'))).toBe(true);
    expect(isTransient(failureFromCode('kms', 'AccessDeniedException'))).toBe(false);
    expect(isRotationFailure(failureFromCode('secretsmanager', 'DecryptionFailure'))).toBe(true);
    expect(isRotationFailure(failureFromCode('kms', 'AccessDeniedException'))).toBe(true);
    expect(isRotationFailure(failureFromCode('secretsmanager', 'ResourceNotFoundException'))).toBe(false);
  });
});
