import { createContext, type Context, type FunctionInfo } from './context.js';
import { getHost } from './host.js';
import { InvocationDeadline } from './invocation-deadline.js';
import { INVOKE_STORE_RECORD, invokeStoreRecord, type ScopedInvocationState } from './invoke-store.js';
import { canEchoInvocationId, RuntimeApiError, type Invocation, type PostOutcome, type RuntimeApiClient } from './runtime-api.js';
import type { LoadedHandler } from './handler-loader.js';
import type { EnvironmentProvider } from './init-hooks.js';
import { runCommand } from './command-handler.js';
import { describeError, InvocationTimedOut, serializeResponse } from './errors.js';
import { createResponseStream, finishStream } from './streaming.js';
import { logger } from './logging.js';
import { inspect } from 'node:util';

/** A handler call in progress that the runtime may have to give up on. */
export interface PendingCall {
  /** Ends the call now as failed with `error`; the handler's own outcome, if any comes, is dropped. */
  interrupt(error: unknown): void;
}

/** What one loop needs; every loop of a process shares it except the client. */
export interface LoopOptions {
  readonly client: RuntimeApiClient;
  readonly handler: LoadedHandler;
  /** Extra variables for a command handler, from an attached config definition. */
  readonly commandEnvironment: EnvironmentProvider | undefined;
  readonly info: FunctionInfo;
  /**
   * Set `_X_AMZN_TRACE_ID` per invocation. Only with one loop per process: with concurrent loops
   * a process-wide variable would leak one invocation's trace into another, so tracing then goes
   * through the AsyncLocalStorage state only.
   */
  readonly traceEnv: boolean;
  /**
   * End an invocation at its deadline as timed out and poll again (Lambda Managed Instances,
   * where Lambda does not enforce the timeout itself).
   */
  readonly enforceDeadline: boolean;
  /** Invocations being handled, so a fault outside any handler can still be reported. */
  readonly inFlight: Set<Invocation>;
  /** Handler calls awaited right now, so the process can end them when its event loop empties. */
  readonly pendingCalls: Set<PendingCall>;
}

/**
 * Polls `/next` forever, handling one invocation at a time. Returns only by throwing: a failed
 * `/next` means the Runtime API is gone or broken, and so does a 500 answer to a post
 * ("Container error. Non-recoverable state. Runtime should exit promptly."); the caller ends
 * the process.
 */
export async function runLoop(options: LoopOptions): Promise<never> {
  for (;;) {
    const invocation = await options.client.next();
    options.inFlight.add(invocation);
    try {
      await handleInvocation(invocation, options);
    } finally {
      options.inFlight.delete(invocation);
    }
  }
}

async function handleInvocation(invocation: Invocation, options: LoopOptions): Promise<void> {
  const { client } = options;
  if (options.traceEnv) {
    if (invocation.traceId === undefined) delete process.env._X_AMZN_TRACE_ID;
    else process.env._X_AMZN_TRACE_ID = invocation.traceId;
  }
  if (invocation.invocationId !== undefined && !canEchoInvocationId(invocation.invocationId)) {
    logger.warn(
      `Lambda-Runtime-Invocation-Id of ${invocation.requestId} has bytes that cannot be sent back as they came; posting the result without it`,
    );
  }
  const deadline = new InvocationDeadline(invocation.deadlineMs);
  let context: Context;
  let event: unknown;
  try {
    context = createContext(invocation, options.info, deadline);
    // A command handler gets the raw bytes; it needs the parsed event only to resolve config.
    const needsEvent = options.handler.kind === 'module' || options.commandEnvironment !== undefined;
    event = needsEvent ? parseEvent(invocation.body) : undefined;
  } catch (err) {
    deadline.finish();
    await reportError(client, invocation, err);
    return;
  }
  const state: ScopedInvocationState = Object.assign(Object.create(INVOCATION_STATE_PROTOTYPE) as object, {
    requestId: invocation.requestId,
    traceId: invocation.traceId,
    tenantId: invocation.tenantId,
    event,
    context,
    [INVOKE_STORE_RECORD]: invokeStoreRecord(invocation.requestId, invocation.traceId, invocation.tenantId),
  });
  try {
    await getHost().invocations.run(state, () => dispatch(invocation, state, deadline, options));
  } finally {
    deadline.finish();
  }
}

/**
 * The scope's state is reachable from every promise and timer made during the invocation (Node
 * keeps the AsyncLocalStorage store on each as a symbol property, and `util.inspect` shows it, as
 * in `console.log(somePromise)`): it renders as its ids, never the event (which may hold a
 * sensitive payload field) nor the context.
 */
const INVOCATION_STATE_PROTOTYPE = {
  [inspect.custom](this: ScopedInvocationState): string {
    return `InvocationState ${inspect({ requestId: this.requestId, traceId: this.traceId, tenantId: this.tenantId })}`;
  },
};

function parseEvent(body: Buffer): unknown {
  if (body.length === 0) return undefined;
  try {
    return JSON.parse(body.toString('utf8')) as unknown;
  } catch (err) {
    const error = new Error(`the event is not valid JSON: ${(err as Error).message}`);
    error.name = 'Runtime.InvalidEventPayload';
    throw error;
  }
}

/** How a handler call ended. */
type Settled = { readonly ok: true; readonly value: unknown } | { readonly ok: false; readonly error: unknown };

/**
 * Calls the handler and waits for it to settle, or for the runtime to give up on it: at the
 * deadline when it is enforced, or when the process's event loop empties while the call is
 * still pending (bootstrap.ts interrupts every pending call with `Runtime.NodeJsExit`).
 */
function callHandler(
  call: () => unknown,
  invocation: Invocation,
  deadline: InvocationDeadline,
  options: LoopOptions,
): Promise<Settled> {
  return new Promise<Settled>((resolve) => {
    const pending: PendingCall = {
      interrupt: (error) => {
        options.pendingCalls.delete(pending);
        resolve({ ok: false, error });
      },
    };
    const settle = (settled: Settled): void => {
      options.pendingCalls.delete(pending);
      resolve(settled);
    };
    let result: unknown;
    try {
      result = call();
    } catch (error) {
      settle({ ok: false, error });
      return;
    }
    options.pendingCalls.add(pending);
    if (options.enforceDeadline) {
      const received = Date.now();
      deadline.enforce(() => pending.interrupt(new InvocationTimedOut(invocation.deadlineMs - received)));
    }
    Promise.resolve(result).then(
      (value) => settle({ ok: true, value }),
      (error: unknown) => settle({ ok: false, error }),
    );
  });
}

async function dispatch(
  invocation: Invocation,
  state: ScopedInvocationState,
  deadline: InvocationDeadline,
  options: LoopOptions,
): Promise<void> {
  const { client, handler } = options;
  switch (handler.kind) {
    case 'command': {
      let extraEnv: Record<string, string> | undefined;
      if (options.commandEnvironment !== undefined) {
        try {
          extraEnv = await options.commandEnvironment(state.event);
        } catch (err) {
          await reportError(client, invocation, err);
          return;
        }
      }
      const outcome = await runCommand(handler, invocation, extraEnv === undefined ? {} : { extraEnv });
      if (outcome.ok) report(await client.postResponse(invocation, outcome.stdout), invocation);
      else await reportError(client, invocation, outcome.error);
      return;
    }
    case 'module': {
      if (handler.streaming) {
        const stream = createResponseStream((contentType) => client.streamResponse(invocation, contentType), {
          highWaterMark: handler.highWaterMark,
        });
        const settled = await callHandler(() => handler.fn(state.event, stream, state.context), invocation, deadline, options);
        const finished = await finishStream(stream, settled.ok ? undefined : { error: settled.error });
        if (finished.posted) report(finished.outcome, invocation);
        else await reportError(client, invocation, finished.error);
        return;
      }
      const settled = await callHandler(() => handler.fn(state.event, state.context), invocation, deadline, options);
      if (!settled.ok) {
        await reportError(client, invocation, settled.error);
        return;
      }
      let body: string | Buffer;
      try {
        body = serializeResponse(settled.value);
      } catch (err) {
        await reportError(client, invocation, err);
        return;
      }
      report(await client.postResponse(invocation, body), invocation);
    }
  }
}

/** Posts an invocation error; the handler's fault never escapes the loop. */
async function reportError(client: RuntimeApiClient, invocation: Invocation, err: unknown): Promise<void> {
  const { response, typeHeader } = describeError(err);
  logger.logError('Invoke Error', err);
  report(await client.postError(invocation, response, typeHeader), invocation);
}

/**
 * Statuses other than 202 and 500 are Lambda's verdict on this invocation only: log, and go on.
 * A 500 is the Runtime API's "Container error. Non-recoverable state. Runtime should exit
 * promptly." (Runtime API spec, responses of /response and /error): thrown, to end the process.
 */
function report(outcome: PostOutcome, invocation: Invocation): void {
  if (outcome.status === 202) return;
  if (outcome.status === 500) {
    throw new RuntimeApiError(
      `the post for ${invocation.requestId} answered 500 (container error, non-recoverable state)`,
      500,
      outcome.body,
    );
  }
  const reason =
    outcome.status === 413
      ? 'the response is larger than Lambda accepts (6 MB buffered; 200 MB streamed, the first 6 MB at full speed, then throttled)'
      : outcome.status === 410
        ? 'the invocation is gone (timed out or already finished)'
        : outcome.status === 403
          ? 'a result was already posted for this invocation'
          : outcome.status === 400
            ? 'the Runtime API rejected the request'
            : 'unexpected status';
  logger.warn(`Runtime API answered ${outcome.status} for ${invocation.requestId}: ${reason}`);
}
