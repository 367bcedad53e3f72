/**
 * What a SnapStart restore means for config: every value resolved during init is in the snapshot,
 * shared by every environment restored from it, possibly days later and after a rotation. So
 * after a restore nothing from before is trusted as fresh: connections and credentials are
 * rebuilt, the cache is due for a fetch, and each definition the runtime prefetched is resolved
 * again before the first invocation (unless it opted out; it then resolves on first use).
 */
import { sourceCache } from './cache.js';
import { forgetDefaultClients } from './clients.js';
import { expireResolvedConfig, type DefinitionState } from './definition-state.js';
import { forgetBatchDenials } from './sources/secrets-manager.js';

/**
 * Well-known method the runtime awaits on each definition it prefetched, once the execution
 * environment was restored from a SnapStart snapshot (docs/design.md, "The host object").
 */
export const AFTER_RESTORE: unique symbol = Symbol.for('@custom-runtime/after-restore');

/** Options of a definition about SnapStart. */
export interface SnapStartOptions {
  /**
   * Resolve this definition again right after a SnapStart restore, before the first invocation
   * (default `true`). With `false` nothing is fetched during the restore (its 10-second limit
   * stays for other work); the values from before the snapshot are still not served: the first
   * `getConfig` fetches them.
   */
  readonly refreshAfterRestore?: boolean;
}

/**
 * Drops what holds connections or credentials from before the snapshot: the default SDK clients
 * (each caches its credentials and keeps sockets) and what was learnt about permissions. The one
 * place to extend when other transports cache credentials or connections.
 */
export function forgetConnectionsAndCredentials(): void {
  forgetDefaultClients();
  forgetBatchDenials();
}

// A process is restored at most once: the first definition asked does the process-wide part.
let restored = false;

function expireEverything(): void {
  if (restored) return;
  restored = true;
  forgetConnectionsAndCredentials();
  sourceCache.expire();
  expireResolvedConfig();
}

/**
 * The after-restore step of one definition. Never rejects: a failed fetch follows the usual
 * stale-on-error rules (the cache logs each value served stale) and is summed up in one line;
 * a definition that cannot be resolved at all fails its next `getConfig` as it would anyway.
 */
export async function refreshAfterRestore(state: DefinitionState, options: SnapStartOptions): Promise<void> {
  expireEverything();
  if (options.refreshAfterRestore === false) return;
  const logger = state.logger;
  try {
    await state.prefetch();
  } catch (error) {
    const message = error instanceof Error ? error.message : 'unknown error';
    logger.warn(
      `[@custom-runtime/config] after the SnapStart restore, resolving the config failed; getConfig will try again: ${message}`,
    );
    return;
  }
  const stale = (state.snapshot?.resolutions ?? []).flatMap((r) =>
    r.state !== 'dynamic' && r.fetched?.stale === true ? [r.fetched.label] : [],
  );
  if (stale.length > 0) {
    logger.warn(
      `[@custom-runtime/config] after the SnapStart restore, ${stale.length} value(s) could not be fetched and are served as fetched before the snapshot, within their max staleness: ${[...new Set(stale)].join(', ')}`,
    );
  }
}
