/**
 * `subjects` starting at `offset` (mod their number): round r of a section starts with subject
 * r, so no subject always runs first, right after the machine was idle or busy.
 */
export function rotated<T>(subjects: readonly T[], offset: number): T[] {
  const n = subjects.length;
  if (n === 0) return [];
  const start = ((offset % n) + n) % n;
  return [...subjects.slice(start), ...subjects.slice(0, start)];
}
