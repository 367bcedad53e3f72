/**
 * Init requests ahead of the handler (docs/design.md): while an image is built, the fill step
 * asks the handler's exported config definitions which Secrets Manager and KMS calls their
 * prefetch makes first and writes them, with placeholders for the variables' values, to
 * `init-requests.json` next to the bootstrap. At a cold start the bootstrap has
 * `init-request-sender.js` (the config package's sender, bundled next to it) send those calls
 * before it imports the handler module, so the network wait overlaps the import; the
 * definitions' lean path takes the answers instead of calling again.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';

/** The plan, next to the bootstrap: `/var/runtime/init-requests.json` in an image. */
export const INIT_REQUESTS_FILE = 'init-requests.json';
/** The config package's sender, bundled next to the bootstrap by the runtime's build. */
export const INIT_REQUEST_SENDER_FILE = 'init-request-sender.js';

const INIT_REQUESTS = Symbol.for('@custom-runtime/init-requests');

// Bound on the wait for the requests to be written before the import: on Node 22 the ES module
// loader holds the event loop while it imports, and a request not yet written then waits for it.
const WRITE_WAIT_MS = 15;

interface Planner {
  [INIT_REQUESTS](): Promise<unknown[]>;
}

interface Sender {
  sendInitRequests(requests: unknown, env: NodeJS.ProcessEnv): { readonly sent: number; readonly written: Promise<void> };
  dropInitRequests(): void;
}

/** What {@link sendInitRequestsAhead} started; {@link InitRequestsAhead.drop} ends it after init. */
export interface InitRequestsAhead {
  /** How many calls went out ahead of the import. */
  readonly sent: number;
  /** Settles once they are written (at most a few milliseconds). */
  readonly written: Promise<void>;
  /** Drops answers no definition took and closes the sender's connections. */
  drop(): void;
}

function hasPlanner(value: unknown): value is Planner {
  return typeof (value as Partial<Planner> | null)?.[INIT_REQUESTS] === 'function';
}

function planFile(bootstrapFile: string): string {
  return path.join(path.dirname(path.resolve(bootstrapFile)), INIT_REQUESTS_FILE);
}

/**
 * Image build: asks the config definitions each name exports (a handler, or a config module of
 * `CUSTOM_RUNTIME_CONFIG`) for their init calls and writes them, by name, to the plan next to
 * the bootstrap (written even when empty, so a plan from an earlier build never lingers).
 * Returns how many calls it lists.
 */
export async function writeInitRequests(
  definitionsByName: ReadonlyMap<string, readonly unknown[]>,
  bootstrapFile = process.argv[1] ?? '',
): Promise<number> {
  const handlers: Record<string, unknown[]> = {};
  let count = 0;
  for (const [name, definitions] of definitionsByName) {
    const requests: unknown[] = [];
    for (const definition of definitions) if (hasPlanner(definition)) requests.push(...(await definition[INIT_REQUESTS]()));
    if (requests.length > 0) handlers[name] = requests;
    count += requests.length;
  }
  writeFileSync(planFile(bootstrapFile), `${JSON.stringify({ format: 1, handlers }, null, 1)}\n`, { mode: 0o644 });
  return count;
}

/**
 * Cold start: sends the calls the image's plan lists for this function (its handler module, or
 * for a command handler its `CUSTOM_RUNTIME_CONFIG` module), when there are some and a sender.
 * Never throws: without them, or with a damaged plan, the definitions make their calls as they
 * always do.
 */
export function sendInitRequestsAhead(
  handler: string,
  env: NodeJS.ProcessEnv,
  isCommand: () => boolean,
  bootstrapFile = process.argv[1] ?? '',
): InitRequestsAhead | undefined {
  let requests: unknown;
  try {
    const plan = JSON.parse(readFileSync(planFile(bootstrapFile), 'utf8')) as { format?: unknown; handlers?: unknown };
    if (plan.format !== 1 || typeof plan.handlers !== 'object' || plan.handlers === null) return undefined;
    // One image can serve several functions (ImageConfig.Command), each with its own calls.
    const byName = plan.handlers as Record<string, unknown>;
    const config = env.CUSTOM_RUNTIME_CONFIG;
    if (Object.hasOwn(byName, handler)) requests = byName[handler];
    else if (config !== undefined && Object.hasOwn(byName, config) && isCommand()) requests = byName[config];
    else return undefined;
  } catch {
    return undefined; // no plan (the usual case outside an image filled for it)
  }
  try {
    const sender = createRequire(planFile(bootstrapFile))(`./${INIT_REQUEST_SENDER_FILE}`) as Sender;
    const { sent, written } = sender.sendInitRequests(requests, env);
    if (sent === 0) return undefined;
    let timer: NodeJS.Timeout | undefined;
    const bounded = Promise.race([written, new Promise<void>((resolve) => (timer = setTimeout(resolve, WRITE_WAIT_MS)))]).finally(() =>
      clearTimeout(timer),
    );
    return { sent, written: bounded, drop: () => sender.dropInitRequests() };
  } catch {
    return undefined;
  }
}
