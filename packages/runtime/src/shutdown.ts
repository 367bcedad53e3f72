import type { IncomingHttpHeaders } from 'node:http';
import { getHost, type ShutdownHook } from './host.js';

/** Lambda gives the runtime 500 ms between SIGTERM and SIGKILL; keep a margin for exit. */
const SHUTDOWN_BUDGET_MS = 450;

/**
 * Registers a function to run when Lambda shuts the execution environment down.
 *
 * Call it while the handler module loads (at top level): the runtime then registers an internal
 * extension before the first invocation, which is what makes Lambda send SIGTERM (and wait up to
 * 500 ms) instead of killing the process outright. Hooks run concurrently and are cut off after
 * about 450 ms.
 */
export function onShutdown(hook: ShutdownHook): void {
  getHost().shutdownHooks.push(hook);
}

async function extensionRequest(
  address: string,
  method: string,
  path: string,
  headers: Record<string, string>,
  body?: string,
): Promise<{ status: number; headers: IncomingHttpHeaders; body: string }> {
  const [host, port] = splitAddress(address);
  // Loaded only when a handler registered shutdown hooks: not on every cold start.
  // Not import(): docs/design.md, "Built-in modules".
  const http = process.getBuiltinModule('node:http');
  return new Promise((resolve, reject) => {
    const req = http.request({ host, port, method, path, headers, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () =>
        resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString() }),
      );
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(body);
  });
}

function splitAddress(address: string): [string, number] {
  const colon = address.lastIndexOf(':');
  return [address.slice(0, colon), Number(address.slice(colon + 1))];
}

/**
 * Registers this process as an internal extension and arms the SIGTERM handler that runs the
 * shutdown hooks. Must complete before the runtime's first `/next`.
 */
export async function armShutdownHooks(runtimeApiAddress: string, exit: (code: number) => void): Promise<void> {
  const host = getHost();
  // Armed before registering: Lambda may send SIGTERM as soon as the extension exists.
  process.once('SIGTERM', () => {
    const hooks = host.shutdownHooks.map(async (hook) => hook());
    const budget = new Promise((resolve) => setTimeout(resolve, SHUTDOWN_BUDGET_MS).unref());
    void Promise.race([Promise.allSettled(hooks), budget]).then(() => exit(0));
  });
  const registered = await extensionRequest(
    runtimeApiAddress,
    'POST',
    '/2020-01-01/extension/register',
    { 'Lambda-Extension-Name': 'custom-runtime-shutdown', 'Content-Type': 'application/json' },
    // Internal extensions may not subscribe to SHUTDOWN; registering at all is what buys SIGTERM.
    JSON.stringify({ events: [] }),
  );
  const id = registered.headers['lambda-extension-identifier'];
  if (registered.status !== 200 || typeof id !== 'string') {
    throw new Error(`extension registration failed with status ${registered.status}`);
  }
  // The extension must poll for events to count as ready; with no subscriptions this call only
  // returns at shutdown, so its socket must not keep the process alive.
  const [hostName, port] = splitAddress(runtimeApiAddress);
  const http = process.getBuiltinModule('node:http');
  const poll = http.request({
    host: hostName,
    port,
    method: 'GET',
    path: '/2020-01-01/extension/event/next',
    headers: { 'Lambda-Extension-Identifier': id },
    agent: false,
  });
  poll.on('socket', (socket) => socket.unref());
  poll.on('response', (res) => res.resume());
  poll.on('error', () => {});
  poll.end();

}
