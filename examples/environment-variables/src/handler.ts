import { getConfig } from '@custom-runtime/config';
import type { Handler } from '@custom-runtime/runtime';
import { config } from './config.js';

// Exported so that the runtime resolves it during init: a bad MAX_ITEMS fails the init
// (Runtime.ConfigInvalid) with the variable's name, not the first invocation.
export { config };

/** The event this example reads: an optional name to greet. */
export interface GreetingEvent {
  readonly name?: string;
}

/** Answers with the variables it read; the credentials only as `present`. */
export const handler: Handler<GreetingEvent | null> = async (event, context) => {
  const cfg = await getConfig(config);
  const name = typeof event?.name === 'string' && event.name !== '' ? event.name : 'world';
  return {
    message: `${cfg.greeting}, ${name}!`,
    userDefined: {
      GREETING: cfg.greeting,
      MAX_ITEMS: cfg.maxItems,
      VERBOSE: cfg.verbose,
    },
    runtimeDefined: {
      AWS_REGION: cfg.region,
      AWS_DEFAULT_REGION: cfg.defaultRegion,
      AWS_LAMBDA_FUNCTION_NAME: cfg.functionName,
      AWS_LAMBDA_FUNCTION_MEMORY_SIZE: cfg.memorySizeMb,
      AWS_LAMBDA_FUNCTION_VERSION: cfg.functionVersion,
      AWS_LAMBDA_INITIALIZATION_TYPE: cfg.initializationType,
      AWS_LAMBDA_LOG_GROUP_NAME: cfg.logGroupName,
      AWS_LAMBDA_LOG_STREAM_NAME: cfg.logStreamName,
      AWS_LAMBDA_RUNTIME_API: cfg.runtimeApi,
      LAMBDA_TASK_ROOT: cfg.taskRoot,
      LAMBDA_RUNTIME_DIR: cfg.runtimeDir,
      _HANDLER: cfg.handler ?? null,
      AWS_EXECUTION_ENV: cfg.executionEnv ?? null,
    },
    perInvocation: {
      // Set by the runtime from this invocation's Lambda-Runtime-Trace-Id header, so it is read
      // here rather than through the config, which reads the environment once.
      _X_AMZN_TRACE_ID: process.env._X_AMZN_TRACE_ID ?? null,
      requestId: context.awsRequestId,
      remainingTimeMs: context.getRemainingTimeInMillis(),
    },
    credentials: {
      AWS_ACCESS_KEY_ID: { present: cfg.accessKeyIdPresent },
      AWS_SECRET_ACCESS_KEY: { present: cfg.secretAccessKeyPresent },
      AWS_SESSION_TOKEN: { present: cfg.sessionTokenPresent },
    },
  };
};
