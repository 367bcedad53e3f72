/**
 * One AWS JSON 1.1 call on the lean path: credentials, signing, sending, the standard retry, a
 * re-sign after a clock-skew answer, all inside the call's deadline.
 */
import { AwsCallError, errorCodeOf, errorMessageOf } from './call-error.js';
import { clockOffsetMs, correctClock, isClockSkewError } from './clock-skew.js';
import { credentialSource, loadCredentials, type CredentialSource, type Credentials } from './credentials.js';
import { resolveEndpoint } from './endpoints.js';
import { initAnswerKey, recordCall, takeInitAnswer } from './init-requests.js';
import { isRetryable, maxAttempts, retryDelayMs } from './retry.js';
import type { AwsJsonService } from './services.js';
import { preloadSigner, responseTimeout, sendSigned, type RawResponse } from './signed-request.js';
import type { ResolvedTimeouts } from './timeouts.js';

/** Env var choosing the transport: `lean` (default) or `sdk` (the generated SDK clients). */
export const TRANSPORT_ENV = 'CUSTOM_RUNTIME_CONFIG_TRANSPORT';

/** Where a lean call goes, or why the SDK clients must make it instead. */
export type LeanRoute =
  | { readonly ok: true; readonly url: URL; readonly region: string; readonly credentials: CredentialSource }
  | { readonly ok: false; readonly reason: string };

/** Where calls go while an image build records a definition's init calls (init-requests.ts). */
export const RECORDING_ROUTE: Extract<LeanRoute, { ok: true }> = Object.freeze({
  ok: true,
  url: new URL('https://recording.invalid/'),
  region: 'recording',
  credentials: 'env',
});
/**
 * The same for a service whose calls go through a user-supplied client: the runtime never sends
 * those ahead, so they are not recorded.
 */
export const UNRECORDED_ROUTE: Extract<LeanRoute, { ok: true }> = Object.freeze({ ...RECORDING_ROUTE });

/** Whether the lean path covers this environment for `service`, read now. */
export function leanRoute(service: AwsJsonService, env: NodeJS.ProcessEnv = process.env): LeanRoute {
  if (env[TRANSPORT_ENV]?.trim().toLowerCase() === 'sdk') return { ok: false, reason: `${TRANSPORT_ENV}=sdk` };
  const credentials = credentialSource(env);
  if (credentials === undefined) return { ok: false, reason: 'no environment or container credentials' };
  const endpoint = resolveEndpoint(service, env);
  if (!endpoint.ok) return endpoint;
  return { ok: true, url: endpoint.url, region: endpoint.region, credentials };
}

/**
 * Milliseconds on a monotonic clock. Not `performance.now()`: on Node 20 and 22 the global
 * `performance` loads perf_hooks at its first use, about 0.8 ms of a cold start.
 */
function monotonicMs(): number {
  return Number(process.hrtime.bigint()) / 1e6;
}

/**
 * Calls `operation` with `input` and resolves with the parsed response body. Throws
 * {@link AwsCallError} (HTTP errors with the AWS error code as `name`, transport failures,
 * `TimeoutError`) after the retries the deadline allows.
 */
export async function callAwsJson(
  service: AwsJsonService,
  route: Extract<LeanRoute, { ok: true }>,
  operation: string,
  input: object,
  timeouts: ResolvedTimeouts,
): Promise<Record<string, unknown>> {
  // A monotonic clock: deadlines hold even when a test fakes Date.
  const end = monotonicMs() + timeouts.callMs;
  const attempts = maxAttempts();
  const body = JSON.stringify(input);
  if (route === RECORDING_ROUTE || route === UNRECORDED_ROUTE) {
    return recordCall(route === RECORDING_ROUTE ? { service: service.signingName, operation, body } : undefined);
  }
  // Container credentials take a request: the signer loads meanwhile. Not for environment
  // credentials, whose call may have been answered ahead (init-requests.ts) and need no signer.
  if (route.credentials === 'container') preloadSigner();
  const target = `${service.targetPrefix}.${operation}`;
  let attempt = 0;
  let resigned = false;
  for (;;) {
    attempt++;
    try {
      const remaining = end - monotonicMs();
      if (remaining <= 0) throw callTimeout(timeouts);
      const credentials = await withDeadline(loadCredentials(route.credentials, timeouts.connectMs), remaining, () => callTimeout(timeouts));
      const clamped = end - monotonicMs() < timeouts.attemptMs;
      const timeoutName = clamped ? 'call timeout' : 'attempt timeout';
      const timeoutMs = Math.max(1, clamped ? end - monotonicMs() : timeouts.attemptMs);
      // The runtime may have sent this very request before it imported the handler: its answer
      // is this attempt's, under this attempt's deadline.
      const ahead = attempt === 1 ? takeInitAnswer(initAnswerKey(route.url, route.region, target, credentials.accessKeyId, body)) : undefined;
      const response =
        ahead !== undefined
          ? await withDeadline(ahead, timeoutMs, () => responseTimeout(timeoutMs, timeoutName))
          : await sendSigned({
              url: route.url,
              region: route.region,
              signingName: service.signingName,
              target,
              body,
              credentials,
              clockOffsetMs: clockOffsetMs(),
              connectTimeoutMs: Math.max(1, Math.min(timeouts.connectMs, end - monotonicMs())),
              timeoutMs,
              timeoutName,
            });
      return parseResponse(response.status, response.headers, response.body);
    } catch (caught) {
      const error = asCallError(caught);
      error.$metadata.attempts = attempt;
      if (!resigned && isClockSkewError(error)) {
        // Not counted as an attempt: the request was fine, only its signing time was not.
        resigned = true;
        correctClock(error.serverDate);
        attempt--;
        continue;
      }
      if (attempt >= attempts || !isRetryable(error)) throw error;
      const delay = retryDelayMs(error, attempt - 1);
      if (monotonicMs() + delay >= end) throw error;
      await new Promise((resolve) => setTimeout(resolve, delay));
    }
  }
}

function parseResponse(status: number, headers: RawResponse['headers'], text: string): Record<string, unknown> {
  let parsed: unknown;
  let parseFailed = false;
  try {
    parsed = text === '' ? {} : JSON.parse(text);
  } catch {
    parseFailed = true;
  }
  const requestId = first(headers['x-amzn-requestid']);
  if (status >= 200 && status < 300) {
    if (parseFailed || typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
      throw new AwsCallError('DeserializationError', 'the response body is not a JSON object', { status, requestId });
    }
    return parsed as Record<string, unknown>;
  }
  const code = errorCodeOf(headers['x-amzn-errortype'], parsed) ?? 'UnknownError';
  const message = errorMessageOf(parsed) ?? `HTTP ${status}`;
  throw new AwsCallError(code, message, { status, requestId, serverDate: first(headers.date) });
}

function first(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}

function asCallError(error: unknown): AwsCallError {
  if (error instanceof AwsCallError) return error;
  // A credential provider failed (CredentialsProviderError), or a bug: never retried.
  const name = error instanceof Error ? error.name : 'Error';
  const message = error instanceof Error ? error.message : 'non-Error thrown';
  return new AwsCallError(name, message);
}

function callTimeout(timeouts: ResolvedTimeouts): AwsCallError {
  return new AwsCallError('TimeoutError', `no answer within ${timeouts.callMs} ms (call timeout)`);
}

async function withDeadline<T>(promise: Promise<T>, ms: number, timeoutError: () => AwsCallError): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      promise,
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(timeoutError()), ms);
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}
