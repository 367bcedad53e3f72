/** setTimeout's longest delay; a deadline further away is reached in several steps. */
const MAX_TIMER_MS = 2 ** 31 - 1;

/**
 * The deadline of one invocation (`Lambda-Runtime-Deadline-Ms`): the `AbortSignal` handed to the
 * handler as `context.signal`, and, when the runtime enforces the deadline itself (Managed
 * Instances), the moment the loop gives up on the handler.
 *
 * Cheap when unused: the signal and its timer are created on first access to `signal`. Once a
 * handler holds the signal, the timer keeps the process alive until the deadline (a handler
 * waiting for the abort must see it); the enforcing timer alone does not. `finish()` disarms
 * it: a signal never fires after its invocation has ended.
 */
export class InvocationDeadline {
  /** Milliseconds since the Unix epoch. */
  readonly deadlineMs: number;
  #controller: AbortController | undefined;
  #timer: NodeJS.Timeout | undefined;
  #onExpire: (() => void) | undefined;
  #expired = false;
  #finished = false;

  constructor(deadlineMs: number) {
    this.deadlineMs = deadlineMs;
  }

  /** Aborted with a `TimeoutError` DOMException when the deadline passes during the invocation. */
  get signal(): AbortSignal {
    if (this.#controller === undefined) {
      this.#controller = new AbortController();
      if (this.#expired) this.#controller.abort(timeoutReason());
      else this.#arm();
      this.#timer?.ref();
    }
    return this.#controller.signal;
  }

  /** Calls `onExpire` once at the deadline (unless `finish()` came first). */
  enforce(onExpire: () => void): void {
    this.#onExpire = onExpire;
    if (this.#expired) onExpire();
    else this.#arm();
  }

  /** The invocation has ended: no signal or callback fires from now on. */
  finish(): void {
    this.#finished = true;
    this.#onExpire = undefined;
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = undefined;
  }

  #arm(): void {
    if (this.#timer !== undefined || this.#finished) return;
    const delay = this.deadlineMs - Date.now();
    if (!(delay > 0)) {
      // Already past: fire on the next turn, never synchronously inside the caller.
      this.#timer = setTimeout(() => this.#fire(), 0);
    } else {
      this.#timer = setTimeout(() => this.#fire(), Math.min(delay, MAX_TIMER_MS));
    }
    if (this.#controller === undefined) this.#timer.unref();
  }

  #fire(): void {
    this.#timer = undefined;
    if (this.#finished) return;
    if (this.deadlineMs - Date.now() > 0) {
      this.#arm();
      return;
    }
    this.#expired = true;
    this.#controller?.abort(timeoutReason());
    const onExpire = this.#onExpire;
    this.#onExpire = undefined;
    onExpire?.();
  }
}

function timeoutReason(): DOMException {
  return new DOMException('the invocation reached its deadline', 'TimeoutError');
}
