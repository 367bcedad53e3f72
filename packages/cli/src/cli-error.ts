/** Exit status of a successful command. */
export const EXIT_OK = 0;
/** Exit status when the work failed: a function error, an AWS error, a conflict. */
export const EXIT_FAILURE = 1;
/** Exit status when the command line itself is wrong. */
export const EXIT_USAGE = 2;

/**
 * A failure to report as one line on stderr and an exit status, without a stack trace. The
 * message must name what is wrong and where, and never carry a variable's value.
 */
export class CliError extends Error {
  /** The process exit status to end with. */
  readonly exitCode: number;

  /**
   * @param message - What went wrong, for the user; never a secret or a variable's value.
   * @param exitCode - {@link EXIT_FAILURE} unless given.
   */
  constructor(message: string, exitCode: number = EXIT_FAILURE) {
    super(message);
    this.name = 'CliError';
    this.exitCode = exitCode;
  }
}

/** A mistake in the command line: exit status {@link EXIT_USAGE}. */
export class UsageError extends CliError {
  /** @param message - What is wrong with the arguments, naming the option or argument. */
  constructor(message: string) {
    super(message, EXIT_USAGE);
    this.name = 'UsageError';
  }
}
