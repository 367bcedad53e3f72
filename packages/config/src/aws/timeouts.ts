/**
 * Deadlines of the layer's AWS calls. Lambda gives init 10 s in all; the defaults leave room for
 * a second round of calls (a fallback source) and for the handler's own init.
 */
export interface AwsTimeouts {
  /** Time to open the TCP/TLS connection, per attempt (default 1000 ms). */
  readonly connectMs?: number;
  /** Time from sending one attempt to the whole response, per attempt (default 3000 ms). */
  readonly attemptMs?: number;
  /** Time for one call with every retry and backoff (default 5000 ms). */
  readonly callMs?: number;
}

/** {@link AwsTimeouts} with every member set. */
export type ResolvedTimeouts = Required<AwsTimeouts>;

/** Env vars overriding the default timeouts, in milliseconds. */
export const TIMEOUT_ENV = {
  connectMs: 'CUSTOM_RUNTIME_CONFIG_CONNECT_TIMEOUT_MS',
  attemptMs: 'CUSTOM_RUNTIME_CONFIG_ATTEMPT_TIMEOUT_MS',
  callMs: 'CUSTOM_RUNTIME_CONFIG_CALL_TIMEOUT_MS',
} as const satisfies Record<keyof AwsTimeouts, string>;

/** The defaults when neither the definition nor the environment sets a timeout. */
export const DEFAULT_TIMEOUTS: ResolvedTimeouts = Object.freeze({ connectMs: 1_000, attemptMs: 3_000, callMs: 5_000 });

/** The timeouts in force: the definition's own, else the env var, else the default. */
export function resolveTimeouts(own: AwsTimeouts | undefined): ResolvedTimeouts {
  return {
    connectMs: pick(own?.connectMs, 'connectMs'),
    attemptMs: pick(own?.attemptMs, 'attemptMs'),
    callMs: pick(own?.callMs, 'callMs'),
  };
}

function pick(own: number | undefined, name: keyof AwsTimeouts): number {
  if (own !== undefined) {
    if (!(Number.isFinite(own) && own > 0)) throw new RangeError(`timeouts.${name} must be a number of milliseconds > 0, got ${own}`);
    return own;
  }
  const text = process.env[TIMEOUT_ENV[name]];
  if (text !== undefined && text !== '') {
    const value = Number(text);
    // A typo must not silently remove the deadline: fall back to the default.
    if (Number.isFinite(value) && value > 0) return value;
  }
  return DEFAULT_TIMEOUTS[name];
}
