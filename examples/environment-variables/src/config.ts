import { defineConfig, env } from '@custom-runtime/config';
// zod/mini: functions instead of methods, so the bundle carries only the schemas used here.
import * as z from 'zod/mini';

/** Whether a variable is set, without ever keeping its value: for the credentials. */
const present = z.pipe(
  z.optional(z.string()),
  z.transform((value) => value !== undefined),
);

const positiveInt = () => z.coerce.number().check(z.int(), z.positive());

/**
 * Everything this function reads from its environment, typed and validated once, during init.
 *
 * User-defined variables are declared in template.yaml (`Environment.Variables`); the others are
 * set by Lambda. `_X_AMZN_TRACE_ID` is not here: it changes with every invocation, while a
 * definition reads the environment once (the handler reads it per invocation).
 */
export const config = defineConfig({
  // User-defined: template.yaml, the console or `custom-runtime env set`.
  greeting: env('GREETING'),
  maxItems: env('MAX_ITEMS', z._default(positiveInt(), 10)),
  verbose: env('VERBOSE', z._default(z.stringbool(), false)),

  // Defined by Lambda.
  region: env('AWS_REGION'),
  defaultRegion: env('AWS_DEFAULT_REGION'),
  functionName: env('AWS_LAMBDA_FUNCTION_NAME'),
  memorySizeMb: env('AWS_LAMBDA_FUNCTION_MEMORY_SIZE', positiveInt()),
  functionVersion: env('AWS_LAMBDA_FUNCTION_VERSION'),
  // on-demand, provisioned-concurrency, snap-start, ...: kept a string so that a new kind
  // does not fail the init.
  initializationType: env('AWS_LAMBDA_INITIALIZATION_TYPE'),
  logGroupName: env('AWS_LAMBDA_LOG_GROUP_NAME'),
  logStreamName: env('AWS_LAMBDA_LOG_STREAM_NAME'),
  runtimeApi: env('AWS_LAMBDA_RUNTIME_API'),
  taskRoot: env('LAMBDA_TASK_ROOT'),
  runtimeDir: env('LAMBDA_RUNTIME_DIR'),
  // The image's CMD; the bootstrap can also get the handler as its argument instead.
  handler: env('_HANDLER', z.optional(z.string())),
  // Absent for OS-only runtimes such as provided.al2023 (e.g. AWS_Lambda_nodejs22.x otherwise).
  executionEnv: env('AWS_EXECUTION_ENV', z.optional(z.string())),
  // The execution role's credentials: only whether they are there.
  accessKeyIdPresent: env('AWS_ACCESS_KEY_ID', present),
  secretAccessKeyPresent: env('AWS_SECRET_ACCESS_KEY', present),
  sessionTokenPresent: env('AWS_SESSION_TOKEN', present),
});
