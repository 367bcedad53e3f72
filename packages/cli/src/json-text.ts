import { UsageError } from './cli-error.js';

/**
 * Parses JSON the user gave (an event, a seed file, an --env-vars file).
 *
 * @throws {@link UsageError} saying `what` is not valid JSON and, when the parser's message has
 *   a position (V8 gives one for some errors only), at which line and column; never the
 *   parser's message itself, which can quote the text
 */
export function parseJsonText(text: string, what: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch (error) {
    const offset = Number(/at position (\d+)/.exec(error instanceof Error ? error.message : '')?.[1] ?? Number.NaN);
    throw new UsageError(`${what} is not valid JSON${Number.isInteger(offset) ? ` ${lineAndColumn(text, offset)}` : ''}`);
  }
}

function lineAndColumn(text: string, offset: number): string {
  const before = text.slice(0, offset);
  return `at line ${before.split('\n').length}, column ${offset - (before.lastIndexOf('\n') + 1) + 1}`;
}
