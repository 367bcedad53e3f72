import { AsyncLocalStorage } from 'node:async_hooks';
import { InvokeStoreBase } from '@aws/lambda-invoke-store';
import { getHost, type InvocationState } from './host.js';

/** The `@aws/lambda-invoke-store` record of one invocation: protected keys plus what libraries set. */
export type InvokeStoreRecord = Record<string | symbol, unknown>;

const { REQUEST_ID, X_RAY_TRACE_ID, TENANT_ID } = InvokeStoreBase.PROTECTED_KEYS;

/** Where an {@link InvocationState} keeps its invoke-store record (not part of the public type). */
export const INVOKE_STORE_RECORD: unique symbol = Symbol.for('@custom-runtime/invoke-store-record');

/** An {@link InvocationState} as the loop builds it, carrying its invoke-store record. */
export type ScopedInvocationState = InvocationState & { readonly [INVOKE_STORE_RECORD]: InvokeStoreRecord };

/** The invoke-store record for a new invocation: request id, trace id and tenant id, as the official client sets them. */
export function invokeStoreRecord(requestId: string, traceId: string | undefined, tenantId: string | undefined): InvokeStoreRecord {
  return { [REQUEST_ID]: requestId, [X_RAY_TRACE_ID]: traceId, [TENANT_ID]: tenantId };
}

/**
 * `globalThis.awslambda.InvokeStore` as the managed runtime provides it (the official client
 * publishes an `@aws/lambda-invoke-store` instance and runs every invocation inside
 * `InvokeStore.run`: aws-lambda-nodejs-runtime-interface-client src/runtime/runtime.ts,
 * `runWithInvokeContext`). This one reads the invocation scope the runtime already keeps (the
 * host's AsyncLocalStorage, see host.ts), so the loop pays for one scope per invocation, not two,
 * and the answer is right with one loop or many. `run()` called by user code opens a scope of
 * its own.
 *
 * Outside any invocation (module load, init hooks) `get`/`set` use one process-wide record
 * instead of throwing `No context available` as the package's multi-context store does:
 * Powertools Metrics, constructed at module scope with default dimensions, stores them there
 * under `AWS_LAMBDA_MAX_CONCURRENCY`, and init must not fail for it. `hasContext()` stays false.
 */
class HostInvokeStore extends InvokeStoreBase {
  // Used only if a library calls run() itself; an AsyncLocalStorage never run costs nothing.
  readonly #explicit = new AsyncLocalStorage<InvokeStoreRecord>();
  readonly #outside: InvokeStoreRecord = {};

  #record(): InvokeStoreRecord | undefined {
    const explicit = this.#explicit.getStore();
    if (explicit !== undefined) return explicit;
    const state = getHost().invocations.getStore() as Partial<ScopedInvocationState> | undefined;
    return state?.[INVOKE_STORE_RECORD];
  }

  getContext(): InvokeStoreRecord | undefined {
    return this.#record();
  }

  hasContext(): boolean {
    return this.#record() !== undefined;
  }

  get<T = unknown>(key: string | symbol): T | undefined {
    return (this.#record() ?? this.#outside)[key] as T | undefined;
  }

  set<T = unknown>(key: string | symbol, value: T): void {
    if (this.isProtectedKey(key)) throw new Error(`Cannot modify protected Lambda context field: ${String(key)}`);
    (this.#record() ?? this.#outside)[key] = value;
  }

  run<T>(context: InvokeStoreRecord, fn: () => T): T {
    return this.#explicit.run(context, fn);
  }
}

/**
 * Publishes the invoke store on `globalThis.awslambda.InvokeStore` (unless
 * `AWS_LAMBDA_NODEJS_NO_GLOBAL_AWSLAMBDA` opts out, as in the managed runtime), before the
 * handler module loads, so that a bundled `@aws/lambda-invoke-store` (Powertools, the X-Ray SDK)
 * finds it instead of creating its own. Returns the store.
 */
export function installInvokeStore(env: NodeJS.ProcessEnv = process.env): InvokeStoreBase | undefined {
  const optOut = env.AWS_LAMBDA_NODEJS_NO_GLOBAL_AWSLAMBDA;
  if (optOut === '1' || optOut === 'true') return undefined;
  const slot = globalThis as { awslambda?: { InvokeStore?: InvokeStoreBase } };
  const store = new HostInvokeStore();
  slot.awslambda ??= {};
  slot.awslambda.InvokeStore = store;
  return store;
}
