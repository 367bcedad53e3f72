/**
 * Lambda SnapStart for container images ("Implementing SnapStart hooks for container images" in
 * the Lambda developer guide): when `AWS_LAMBDA_INITIALIZATION_TYPE=snap-start`, the runtime
 * finishes init, runs the before-snapshot hooks, and waits on `GET /runtime/restore/next`, which
 * answers only once the snapshot was restored in a new execution environment; it then runs the
 * after-restore hooks and starts polling `/next`. Any other initialization type changes nothing.
 */
import { describeError, type ErrorResponse } from './errors.js';
import { getHost, type RuntimeHost } from './host.js';
import { logger } from './logging.js';
import type { RuntimeApiClient } from './runtime-api.js';

/** A function run before Lambda snapshots the execution environment, or after it restored it. */
export type SnapStartHook = () => void | Promise<void>;

/** Value of `AWS_LAMBDA_INITIALIZATION_TYPE` for the init that ends in a snapshot. */
export const SNAP_START = 'snap-start';

/**
 * Lambda's limit for loading the runtime and running the after-restore hooks; past it the invoke
 * fails with `SnapStartTimeoutException` (the guide's "Troubleshooting SnapStart errors"). The
 * before-snapshot hooks count against the init limit instead (130 s or the function timeout,
 * whichever is longer, at most 15 minutes), which Lambda enforces itself.
 */
export const AFTER_RESTORE_LIMIT_MS = 10_000;
/** Our own cut-off: short of Lambda's, so the failure is reported with a reason rather than a timeout. */
const AFTER_RESTORE_BUDGET_MS = 9_000;

/** Init error type of a failed before-snapshot hook or `restore/next`, as the official clients send it. */
export const BEFORE_SNAPSHOT_ERROR = 'Runtime.BeforeSnapshotError';
/** Error type posted to `restore/error` when an after-restore step fails, as the official clients send it. */
export const AFTER_RESTORE_ERROR = 'Runtime.AfterRestoreError';

/** Exit codes of the Python client (`awslambdaric/bootstrap.py`, `on_init_complete`). */
const EXIT_BEFORE_SNAPSHOT = 64;
const EXIT_AFTER_RESTORE = 65;

// The contract with @custom-runtime/config (docs/design.md, "The host object"): called on each
// definition prefetched during init, once restored, before any user hook.
const AFTER_RESTORE = Symbol.for('@custom-runtime/after-restore');

/** Set once the restore phase failed: the report in flight, then the exit. */
let restoreFailed: Promise<never> | undefined;

interface SnapStartHooks {
  readonly beforeSnapshot: SnapStartHook[];
  readonly afterRestore: SnapStartHook[];
}

// Kept on the host object, so hooks registered through a handler's bundled copy of this package
// reach the bootstrap's copy.
function hooks(): SnapStartHooks {
  const host = getHost() as RuntimeHost & { snapStartHooks?: SnapStartHooks };
  host.snapStartHooks ??= { beforeSnapshot: [], afterRestore: [] };
  return host.snapStartHooks;
}

/**
 * Registers a function to run before Lambda takes the SnapStart snapshot (close connections,
 * drop what must not be shared by every restored environment). Hooks run one at a time, in the
 * reverse order of registration, as in the official clients; a failure is the init error
 * `Runtime.BeforeSnapshotError`, and the version fails to publish. Never runs unless the
 * function is initialised for SnapStart. Call it at module top level.
 */
export function onBeforeSnapshot(hook: SnapStartHook): void {
  hooks().beforeSnapshot.push(hook);
}

/**
 * Registers a function to run after Lambda restored an execution environment from the SnapStart
 * snapshot, before the first invocation (reconnect, re-read credentials, regenerate unique ids).
 * Hooks run one at a time, in the order of registration; all of them must finish within
 * Lambda's 10-second restore limit (the runtime stops waiting after 9 s). A failure is posted to
 * `/runtime/restore/error` as `Runtime.AfterRestoreError` and the process exits. Never runs
 * unless the function is initialised for SnapStart. Call it at module top level.
 */
export function onAfterRestore(hook: SnapStartHook): void {
  hooks().afterRestore.push(hook);
}

/** Whether this init ends in a snapshot. */
export function isSnapStart(env: NodeJS.ProcessEnv): boolean {
  return env.AWS_LAMBDA_INITIALIZATION_TYPE === SNAP_START;
}

interface AfterRestoreTarget {
  [AFTER_RESTORE](): Promise<void>;
}

function hasAfterRestore(value: unknown): value is AfterRestoreTarget {
  return (
    (typeof value === 'object' || typeof value === 'function') &&
    value !== null &&
    typeof (value as Record<symbol, unknown>)[AFTER_RESTORE] === 'function'
  );
}

/**
 * Runs the lifecycle between init and the first `/next`: before-snapshot hooks, the wait on
 * `restore/next`, then the after-restore steps. Returns once restored; on a failure it reports
 * it as the official clients do and calls `exit`.
 *
 * @param prefetched - the objects the init hooks prefetched (config definitions)
 * @param onRestored - called once `restore/next` answered, before any after-restore step: from
 *   then on a fault outside the hooks' promises belongs to the restore ({@link failRestore})
 */
export async function snapshotAndRestore(
  client: RuntimeApiClient,
  prefetched: readonly unknown[],
  exit: (code: number) => never,
  onRestored: () => void = () => {},
): Promise<void> {
  const registered = hooks();
  try {
    // A failing restore/next counts as a before-snapshot failure, as in the Python client.
    for (const hook of [...registered.beforeSnapshot].reverse()) await hook();
    await client.restoreNext();
  } catch (err) {
    logger.logError('Before Snapshot Error', err);
    await client.postInitError(describeError(err).response, BEFORE_SNAPSHOT_ERROR).catch(() => {});
    exit(EXIT_BEFORE_SNAPSHOT);
  }

  let timer: NodeJS.Timeout | undefined;
  const budget = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new Error(`the after-restore hooks did not finish within ${AFTER_RESTORE_BUDGET_MS} ms (Lambda allows ${AFTER_RESTORE_LIMIT_MS} ms)`)),
      AFTER_RESTORE_BUDGET_MS,
    );
  });
  onRestored();
  try {
    await Promise.race([afterRestore(registered.afterRestore, prefetched), budget]);
  } catch (err) {
    await failRestore(client, err, exit);
  } finally {
    clearTimeout(timer);
  }
  // A rejection the hooks left unhandled is reported after the microtask queue drains: let it
  // arrive while this is still the restore phase, and never poll /next once the restore failed.
  await new Promise((resolve) => setImmediate(resolve));
  if (restoreFailed !== undefined) await restoreFailed;
}

/**
 * Reports a failure of the restore phase (after `restore/next` answered, before the first
 * `/next`) to `/runtime/restore/error` as `Runtime.AfterRestoreError` and exits 65: a hook that
 * threw, the time budget, or an uncaught exception or unhandled rejection raised meanwhile (the
 * Python client treats anything raised while the after-restore hooks run alike:
 * awslambdaric/bootstrap.py, `on_init_complete`, bare `except:` around `run_after_restore`).
 * Reports once, however many faults arrive.
 */
export function failRestore(client: RuntimeApiClient, err: unknown, exit: (code: number) => never): Promise<never> {
  restoreFailed ??= (async () => {
    logger.logError('After Restore Error', err);
    const { response } = describeError(err);
    await postRestoreError(client, response);
    return exit(EXIT_AFTER_RESTORE);
  })();
  return restoreFailed;
}

async function afterRestore(userHooks: readonly SnapStartHook[], prefetched: readonly unknown[]): Promise<void> {
  await refreshUuidEntropy();
  // Config first, so user hooks that read config see values fetched after the restore. These
  // never reject: a failed refresh follows the config's stale-on-error rules and logs.
  await Promise.all(prefetched.filter(hasAfterRestore).map((target) => target[AFTER_RESTORE]()));
  for (const hook of userHooks) await hook();
}

async function postRestoreError(client: RuntimeApiClient, response: ErrorResponse): Promise<void> {
  const outcome = await client.postRestoreError(response, AFTER_RESTORE_ERROR).catch(() => undefined);
  if (outcome !== undefined && outcome.status !== 202) {
    logger.warn(`Runtime API answered ${outcome.status} to the restore error`);
  }
}

/**
 * `crypto.randomUUID()` serves UUIDs from a buffer of random bytes filled 128 UUIDs at a time (the
 * Node.js documentation of `disableEntropyCache`); whatever was left in it at the snapshot would
 * be handed out again by every restored environment. 128 draws always cross a refill.
 */
async function refreshUuidEntropy(): Promise<void> {
  // Loaded here: node:crypto takes 3 to 7 ms to load, which no start without SnapStart should pay.
  const { randomUUID } = process.getBuiltinModule('node:crypto');
  for (let i = 0; i < 128; i++) randomUUID();
}
