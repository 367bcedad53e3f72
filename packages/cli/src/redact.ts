/** What a value is replaced with wherever it would otherwise be printed. */
export const REDACTED = '[redacted]';

/**
 * `text` with every occurrence of any of `values` replaced by {@link REDACTED}, for messages
 * that come from elsewhere (AWS errors) and might quote a value. Longest values are matched
 * first so one value inside another is not left half-visible; empty values are ignored.
 */
export function redactValues(text: string, values: Iterable<string>): string {
  const distinct = [...new Set(values)].filter((value) => value !== '').sort((a, b) => b.length - a.length);
  if (distinct.length === 0) return text;
  const pattern = new RegExp(distinct.map(escapeRegExp).join('|'), 'g');
  return text.replace(pattern, REDACTED);
}

function escapeRegExp(text: string): string {
  return text.replace(/[\\^$.*+?()[\]{}|]/g, '\\$&');
}
