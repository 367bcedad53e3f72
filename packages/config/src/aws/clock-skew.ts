/**
 * Clock-skew correction, as the SDK does it (@aws-sdk/core `getUpdatedSystemClockOffset`: when
 * the server's `Date` is 5 minutes or more from the local clock plus the offset, the offset
 * becomes their difference). A request signed before a freeze and sent after a thaw, or a host
 * whose clock drifted, fails with one of these codes; the lean path re-signs and retries once.
 */
import type { AwsCallError } from './call-error.js';

const SKEW_CODES = new Set(['RequestTimeTooSkewed', 'RequestExpired', 'RequestInTheFuture']);
// InvalidSignatureException also means a wrong key: only its expiry wording is a clock problem.
const SIGNATURE_CODES = new Set(['InvalidSignatureException', 'SignatureDoesNotMatch', 'AuthFailure']);
const EXPIRED_WORDING = /signature expired|not yet current|time.*skew|expired/i;
const SKEW_LIMIT_MS = 5 * 60_000;

let offsetMs = 0;

/** Milliseconds to add to `Date.now()` when signing. */
export function clockOffsetMs(): number {
  return offsetMs;
}

/** True when `error` says the signature's time was off, not its key. */
export function isClockSkewError(error: Pick<AwsCallError, 'name' | 'message'>): boolean {
  return SKEW_CODES.has(error.name) || (SIGNATURE_CODES.has(error.name) && EXPIRED_WORDING.test(error.message));
}

/** Updates the offset from a response's `Date` header; returns whether it changed. */
export function correctClock(serverDate: string | undefined): boolean {
  if (serverDate === undefined) return false;
  const server = Date.parse(serverDate);
  if (Number.isNaN(server)) return false;
  const now = Date.now();
  if (Math.abs(server - (now + offsetMs)) < SKEW_LIMIT_MS) return false;
  offsetMs = server - now;
  return true;
}

/** Back to the local clock (after a SnapStart restore, or in tests). */
export function forgetClockOffset(): void {
  offsetMs = 0;
}
