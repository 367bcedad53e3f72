import { createHash } from 'node:crypto';

/** Secrets the cold-start function reads: `BENCH_SECRET_0` … hold their names, as a function's variables hold ARNs. */
export const SECRET_COUNT = 10;
export const secretVariable = (i: number): string => `BENCH_SECRET_${i}`;
/** The KMS-encrypted variable (Lambda console helper's context: the function name). */
export const KMS_VARIABLE = 'BENCH_KMS_TOKEN';

/**
 * What both handlers answer: how many values they hold and a digest of them, so the bench can
 * check they read the same values without any value leaving the function.
 */
export function answer(values: readonly string[]): { values: number; sha256: string } {
  return { values: values.length, sha256: createHash('sha256').update(values.join('\n')).digest('hex') };
}
