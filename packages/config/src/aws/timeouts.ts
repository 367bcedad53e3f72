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

/**
 * A timeout env var that does not hold a number of milliseconds: reported on every AWS field
 * (a `Runtime.ConfigInvalid` at init), never replaced by the default, so a typo is seen at once.
 */
export class TimeoutSettingError extends Error {
  /** The variable at fault. */
  readonly variable: string;
  constructor(variable: string, text: string) {
    // A timeout is not a secret, but the text is cut short in case a value landed there by mistake.
    const shown = text.length > 20 ? `${text.slice(0, 20)}...` : text;
    super(`${variable} must be a number of milliseconds > 0 (e.g. 2000), got '${shown}'`);
    this.name = 'TimeoutSettingError';
    this.variable = variable;
  }
}

/**
 * The timeouts in force: the definition's own, else the env var, else the default. Throws a
 * RangeError for a bad own value, {@link TimeoutSettingError} for a bad env var it reads.
 */
export function resolveTimeouts(own: AwsTimeouts | undefined, env: NodeJS.ProcessEnv = process.env): ResolvedTimeouts {
  return {
    connectMs: pick(own?.connectMs, 'connectMs', env),
    attemptMs: pick(own?.attemptMs, 'attemptMs', env),
    callMs: pick(own?.callMs, 'callMs', env),
  };
}

/** Throws a RangeError naming the first of `own`'s members that is not a number of milliseconds > 0. */
export function checkOwnTimeouts(own: AwsTimeouts): void {
  for (const name of Object.keys(TIMEOUT_ENV) as Array<keyof AwsTimeouts>) checkOwn(own[name], name);
}

function checkOwn(own: number | undefined, name: keyof AwsTimeouts): void {
  if (own !== undefined && !(Number.isFinite(own) && own > 0)) {
    throw new RangeError(`timeouts.${name} must be a number of milliseconds > 0, got ${own}`);
  }
}

function pick(own: number | undefined, name: keyof AwsTimeouts, env: NodeJS.ProcessEnv): number {
  if (own !== undefined) {
    checkOwn(own, name);
    return own;
  }
  const variable = TIMEOUT_ENV[name];
  const text = env[variable];
  // Unset or empty: the default, as for the SDK's own variables.
  if (text === undefined || text.trim() === '') return DEFAULT_TIMEOUTS[name];
  const value = Number(text);
  if (!(Number.isFinite(value) && value > 0)) throw new TimeoutSettingError(variable, text);
  return value;
}
