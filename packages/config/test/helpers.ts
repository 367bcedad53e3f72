import { vi } from 'vitest';
import { AsyncLocalStorage } from 'node:async_hooks';
import { startKms, startSecretsManager, type KmsStandIn, type SecretsManagerStandIn } from '@custom-runtime/local';
import { clearConfigCache, type ConfigLogger } from '../src/index.js';

/** Secrets Manager and KMS stand-ins, with the env vars the real SDK clients read. */
export interface StandIns {
  readonly sm: SecretsManagerStandIn;
  readonly kms: KmsStandIn;
  /** Between tests: an empty config cache, no recorded calls, no injected faults. */
  reset(): void;
  close(): Promise<void>;
}

const SDK_ENV = {
  AWS_ACCESS_KEY_ID: 'test',
  AWS_SECRET_ACCESS_KEY: 'test',
  AWS_SESSION_TOKEN: 'test',
  AWS_REGION: 'us-east-1',
  // One retry: throttling and server-error tests stay quick.
  AWS_MAX_ATTEMPTS: '2',
};

/** Starts both stand-ins on 127.0.0.1 and points the default SDK clients at them. */
export async function startStandIns(): Promise<StandIns> {
  // The stand-ins verify every request's SigV4 signature against these dummy credentials.
  const credentials = { accessKeyId: SDK_ENV.AWS_ACCESS_KEY_ID, secretAccessKey: SDK_ENV.AWS_SECRET_ACCESS_KEY, sessionToken: SDK_ENV.AWS_SESSION_TOKEN };
  const [sm, kms] = await Promise.all([startSecretsManager({ credentials }), startKms({ credentials })]);
  Object.assign(process.env, SDK_ENV, {
    AWS_ENDPOINT_URL_SECRETS_MANAGER: sm.url,
    AWS_ENDPOINT_URL_KMS: kms.url,
  });
  clearConfigCache();
  return {
    sm,
    kms,
    reset() {
      clearConfigCache();
      for (const standIn of [sm, kms]) {
        standIn.resetCalls();
        standIn.clearFaults();
      }
    },
    async close() {
      clearConfigCache();
      await Promise.all([sm.close(), kms.close()]);
    },
  };
}

/** A logger that keeps its lines. */
export function captureLogger(): ConfigLogger & { readonly lines: string[] } {
  const lines: string[] = [];
  return { lines, warn: (message: string) => void lines.push(message) };
}

interface HostLike {
  readonly version: 1;
  readonly invocations: AsyncLocalStorage<{ requestId: string; traceId: undefined; event: unknown; context: unknown }>;
  readonly shutdownHooks: unknown[];
}

/** The runtime's host object (docs/design.md), as the runtime would create it. */
export function runtimeHost(): HostLike {
  const slot = globalThis as { [key: symbol]: HostLike | undefined };
  const key = Symbol.for('@custom-runtime/host');
  slot[key] ??= { version: 1, invocations: new AsyncLocalStorage(), shutdownHooks: [] };
  return slot[key];
}

/** Runs `fn` as the runtime runs a handler: inside the host's invocation scope. */
export function inInvocation<R>(event: unknown, fn: () => R): R {
  return runtimeHost().invocations.run({ requestId: 'req-1', traceId: undefined, event, context: {} }, fn);
}

/** Sets env vars for one test; returns a function restoring them. */
export function setEnv(vars: Record<string, string | undefined>): () => void {
  const before = Object.fromEntries(Object.keys(vars).map((k) => [k, process.env[k]]));
  apply(vars);
  return () => apply(before);
}

function apply(vars: Record<string, string | undefined>): void {
  for (const [k, v] of Object.entries(vars)) {
    if (v === undefined) delete process.env[k];
    else process.env[k] = v;
  }
}

/**
 * Freezes `Date` at the real time; sockets and the SDK's retry timers stay real. Keep moves under
 * 5 minutes around error responses: past that, the SDK corrects clock skew by retrying on its own.
 * Undo with `vi.useRealTimers()`.
 */
export function freezeDate(): void {
  const now = Date.now();
  vi.useFakeTimers({ toFake: ['Date'] });
  vi.setSystemTime(now);
}

/** Moves the frozen clock forward. */
export function later(seconds: number): void {
  vi.setSystemTime(Date.now() + seconds * 1000);
}
