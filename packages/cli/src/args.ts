import { UsageError } from './cli-error.js';

/**
 * Runs a `util.parseArgs` call and turns its errors (unknown option, missing argument) into a
 * {@link UsageError} naming the command. Node's messages name the option, never its value.
 */
export function parseOrUsage<T>(command: string, parse: () => T): T {
  try {
    return parse();
  } catch (error) {
    const code = (error as { code?: unknown }).code;
    if (typeof code === 'string' && code.startsWith('ERR_PARSE_ARGS_')) {
      throw new UsageError(`${(error as Error).message} (see \`custom-runtime ${command} --help\`)`);
    }
    throw error;
  }
}
