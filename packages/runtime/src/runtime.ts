import { createContext, type Context, type FunctionInfo } from './context.js';
import { getHost, type InvocationState } from './host.js';
import type { Invocation, PostOutcome, RuntimeApiClient } from './runtime-api.js';
import type { LoadedHandler } from './handler-loader.js';
import type { EnvironmentProvider } from './init-hooks.js';
import { runCommand } from './command-handler.js';
import { describeError, serializeResponse } from './errors.js';
import { createResponseStream, finishStream } from './streaming.js';
import { logger } from './logging.js';

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
  /** Invocations being handled, so a fault outside any handler can still be reported. */
  readonly inFlight: Set<Invocation>;
}

/**
 * Polls `/next` forever, handling one invocation at a time. Returns only by throwing: a failed
 * `/next` means the Runtime API is gone or broken, and the caller ends the process.
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
  let context: Context;
  let event: unknown;
  try {
    context = createContext(invocation, options.info);
    // A command handler gets the raw bytes; it needs the parsed event only to resolve config.
    const needsEvent = options.handler.kind === 'module' || options.commandEnvironment !== undefined;
    event = needsEvent ? parseEvent(invocation.body) : undefined;
  } catch (err) {
    await reportError(client, invocation, err);
    return;
  }
  const state: InvocationState = { requestId: invocation.requestId, traceId: invocation.traceId, event, context };
  await getHost().invocations.run(state, () => dispatch(invocation, state, options));
}

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

async function dispatch(invocation: Invocation, state: InvocationState, options: LoopOptions): Promise<void> {
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
        let failure: { error: unknown } | undefined;
        try {
          await handler.fn(state.event, stream, state.context);
        } catch (err) {
          failure = { error: err };
        }
        const finished = await finishStream(stream, failure);
        if (finished.posted) report(finished.outcome, invocation);
        else await reportError(client, invocation, finished.error);
        return;
      }
      let result: unknown;
      try {
        result = await handler.fn(state.event, state.context);
      } catch (err) {
        await reportError(client, invocation, err);
        return;
      }
      let body: string | Buffer;
      try {
        body = serializeResponse(result);
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

/** Statuses other than 202 are Lambda's verdict on this invocation only: log, and go on. */
function report(outcome: PostOutcome, invocation: Invocation): void {
  if (outcome.status === 202) return;
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
