import type { FailureKind } from './aws-errors.js';
import type { SourceKind } from './field.js';

/** Why a field failed. */
export type ConfigIssueReason = 'missing' | 'invalid' | 'bad-reference' | FailureKind;

/** One failed field. Never carries a value or ciphertext. */
export interface ConfigIssue {
  /** The field's key in the definition. */
  readonly field: string;
  /** The source that failed (for `missing`: the field's first source). */
  readonly source: SourceKind;
  /** Where it was looked for: env var, payload path, secret reference (and the env var holding it). */
  readonly location: string;
  /** Machine-readable reason. */
  readonly reason: ConfigIssueReason;
  /** Human-readable reason, e.g. `invalid: Invalid input: expected number, received NaN`. */
  readonly message: string;
}

/**
 * The configuration could not be resolved. Lists every failed field at once; its message,
 * `inspect` output and JSON never contain a value or ciphertext.
 */
export class ConfigError extends Error {
  /** Init error type reported by the runtime when a prefetch fails. */
  readonly lambdaErrorType = 'Runtime.ConfigInvalid';
  /** Every failed field. */
  readonly issues: readonly ConfigIssue[];

  /** @internal */
  constructor(issues: readonly ConfigIssue[]) {
    super(formatIssues(issues));
    this.issues = Object.freeze([...issues]);
  }

  /** The error as plain data (what `JSON.stringify` shows). */
  toJSON(): { name: string; lambdaErrorType: string; message: string; issues: readonly ConfigIssue[] } {
    return { name: this.name, lambdaErrorType: this.lambdaErrorType, message: this.message, issues: this.issues };
  }
}
Object.defineProperty(ConfigError.prototype, 'name', { value: 'ConfigError', configurable: true });

function formatIssues(issues: readonly ConfigIssue[]): string {
  const count = issues.length === 1 ? '1 field' : `${issues.length} fields`;
  const lines = issues.map((i) => `  ${i.field} (${i.location}): ${i.message}`);
  return [`invalid configuration, ${count} failed:`, ...lines].join('\n');
}
