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
import type { HttpTransport } from '@custom-runtime/config/init-request-sender';
import { moduleFileOf } from './handler-loader.js';
import { lendTransport } from './init-request-transport.js';

/** The plan, next to the bootstrap: `/var/runtime/init-requests.json` in an image. */
export const INIT_REQUESTS_FILE = 'init-requests.json';
/** The config package's sender, bundled next to the bootstrap by the runtime's build. */
export const INIT_REQUEST_SENDER_FILE = 'init-request-sender.js';

const INIT_REQUESTS = Symbol.for('@custom-runtime/init-requests');
// Where the sender offers its answers (the config package's aws/init-requests.ts).
const INIT_ANSWERS = Symbol.for('@custom-runtime/init-answers');

// Bound on the wait for the requests to be written before the import: on Node 22 the ES module
// loader holds the event loop while it imports, and a request not yet written then waits for it.
const WRITE_WAIT_MS = 15;

interface Planner {
  [INIT_REQUESTS](): Promise<unknown[]>;
}

interface Sender {
  sendInitRequests(requests: unknown, env: NodeJS.ProcessEnv, transport: HttpTransport): { readonly sent: number; readonly written: Promise<void> };
  dropInitRequests(): void;
}

/** What {@link sendInitRequestsAhead} started; {@link InitRequestsAhead.drop} ends it after init. */
export interface InitRequestsAhead {
  /** How many calls went out ahead of the import. */
  readonly sent: number;
  /** Settles once they are written (at most a few milliseconds). */
  readonly written: Promise<void>;
  /** Drops answers no definition took and the sender's connections still waiting for one. */
  drop(): void;
}

function hasPlanner(value: unknown): value is Planner {
  return typeof (value as Partial<Planner> | null)?.[INIT_REQUESTS] === 'function';
}

/** A file next to the bootstrap: where an image keeps the plan and the sender. */
function besideBootstrap(bootstrapFile: string, name: string): string {
  return path.join(path.dirname(path.resolve(bootstrapFile)), name);
}

function planFile(bootstrapFile: string): string {
  return besideBootstrap(bootstrapFile, INIT_REQUESTS_FILE);
}

/** The sender next to `bootstrapFile` (it may be missing: a bootstrap copied alone). */
export function senderFile(bootstrapFile = process.argv[1] ?? ''): string {
  return besideBootstrap(bootstrapFile, INIT_REQUEST_SENDER_FILE);
}

/** What the fill step learnt of one name: the module file it loaded and the definitions it exports. */
export interface PlannedModule {
  readonly modulePath: string;
  readonly definitions: readonly unknown[];
}

interface PlanEntry {
  /** The module file, relative to the task root, and the SHA-256 of its content when planned. */
  readonly module: string;
  readonly sha256: string;
  readonly requests: unknown;
}

function sha256Of(file: string): string {
  return process.getBuiltinModule('node:crypto').createHash('sha256').update(readFileSync(file)).digest('hex');
}

/**
 * Image build: asks the config definitions each name exports (a handler, or a config module of
 * `CUSTOM_RUNTIME_CONFIG`) for their init calls and writes them, by name, with the digest of the
 * module they came from, to the plan next to the bootstrap (written even when empty, so a plan
 * from an earlier build never lingers). Returns how many calls it lists.
 */
export async function writeInitRequests(
  modules: ReadonlyMap<string, PlannedModule>,
  taskRoot: string,
  bootstrapFile = process.argv[1] ?? '',
): Promise<number> {
  const handlers: Record<string, PlanEntry> = {};
  let count = 0;
  for (const [name, { modulePath, definitions }] of modules) {
    const requests: unknown[] = [];
    for (const definition of definitions) if (hasPlanner(definition)) requests.push(...(await definition[INIT_REQUESTS]()));
    if (requests.length === 0) continue;
    handlers[name] = { module: path.relative(taskRoot, modulePath), sha256: sha256Of(modulePath), requests };
    count += requests.length;
  }
  writeFileSync(planFile(bootstrapFile), `${JSON.stringify({ format: 1, handlers }, null, 1)}\n`, { mode: 0o644 });
  return count;
}

/**
 * Init is over: no answer can be offered from now on, by the sender or anything else in the
 * process (the lean path takes answers only from a live map).
 */
export function closeInitAnswers(): void {
  try {
    Object.defineProperty(globalThis, INIT_ANSWERS, { value: null, writable: false, configurable: false, enumerable: false });
  } catch {
    // Already closed (a second bootstrap in one process, in tests).
  }
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
  taskRoot: string,
  isCommand: () => boolean,
  /** Loads the sender (the launcher's, through the code cache). */
  load: (file: string) => unknown = (file) => createRequire(file)(file),
  bootstrapFile = process.argv[1] ?? '',
): InitRequestsAhead | undefined {
  let requests: unknown;
  try {
    const plan = JSON.parse(readFileSync(planFile(bootstrapFile), 'utf8')) as { format?: unknown; handlers?: unknown };
    if (plan.format !== 1 || typeof plan.handlers !== 'object' || plan.handlers === null) return undefined;
    // One image can serve several functions (ImageConfig.Command), each with its own calls.
    const byName = plan.handlers as Record<string, PlanEntry>;
    const config = env.CUSTOM_RUNTIME_CONFIG;
    const name = Object.hasOwn(byName, handler) ? handler : config !== undefined && Object.hasOwn(byName, config) && isCommand() ? config : undefined;
    if (name === undefined) return undefined;
    const entry = byName[name]!;
    // The plan holds for the module it was made from: a task root changed since (a derived
    // image, a copied plan) must not have its variables sent anywhere.
    const modulePath = moduleFileOf(name, taskRoot);
    if (path.relative(taskRoot, modulePath) !== entry.module || sha256Of(modulePath) !== entry.sha256) return undefined;
    requests = entry.requests;
  } catch {
    return undefined; // no plan (the usual case outside an image filled for it)
  }
  try {
    const file = senderFile(bootstrapFile);
    const sender = load(file) as Sender;
    const lent = lendTransport();
    const { sent, written } = sender.sendInitRequests(requests, env, lent.transport);
    if (sent === 0) return undefined;
    let timer: NodeJS.Timeout | undefined;
    const bounded = Promise.race([written, new Promise<void>((resolve) => (timer = setTimeout(resolve, WRITE_WAIT_MS)))]).finally(() =>
      clearTimeout(timer),
    );
    return {
      sent,
      written: bounded,
      drop: () => {
        sender.dropInitRequests();
        lent.close();
      },
    };
  } catch {
    return undefined;
  }
}
