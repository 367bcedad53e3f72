/** Lambda's pattern for environment variable keys: a letter, then at least one letter, digit or underscore. */
const KEY_PATTERN = /^[A-Za-z][A-Za-z0-9_]+$/;

/** Keys Lambda sets itself and refuses in a function's configuration. */
const RESERVED_KEYS = new Set([
  '_HANDLER',
  '_X_AMZN_TRACE_ID',
  'AWS_REGION',
  'AWS_DEFAULT_REGION',
  'AWS_EXECUTION_ENV',
  'AWS_ACCESS_KEY',
  'AWS_ACCESS_KEY_ID',
  'AWS_SECRET_ACCESS_KEY',
  'AWS_SESSION_TOKEN',
  'LAMBDA_TASK_ROOT',
  'LAMBDA_RUNTIME_DIR',
  'TZ',
]);

/** Lambda owns this prefix (function name, memory, log group, runtime API, ...). */
const RESERVED_PREFIX = 'AWS_LAMBDA_';
/** The one key under the prefix a function may set: Lambda documents it for wrapper scripts. */
const SETTABLE_UNDER_PREFIX = new Set(['AWS_LAMBDA_EXEC_WRAPPER']);

/**
 * Why `key` cannot be a Lambda environment variable, or `undefined` when it can. The key is
 * quoted in the answer (keys are names, not values).
 */
export function environmentKeyProblem(key: string): string | undefined {
  if (!KEY_PATTERN.test(key)) {
    return (
      `'${key}' is not a valid Lambda environment variable name: use letters, digits and underscores, ` +
      'start with a letter, at least two characters'
    );
  }
  if (RESERVED_KEYS.has(key) || (key.startsWith(RESERVED_PREFIX) && !SETTABLE_UNDER_PREFIX.has(key))) {
    return `'${key}' is reserved: Lambda sets it itself and rejects it in a function's configuration`;
  }
  return undefined;
}
