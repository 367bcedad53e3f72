import { describe, expect, it } from 'vitest';
import { InvocationDeadline } from '../src/invocation-deadline.js';

const aborted = (signal: AbortSignal): Promise<unknown> =>
  new Promise((resolve) => signal.addEventListener('abort', () => resolve(signal.reason), { once: true }));

describe('InvocationDeadline', () => {
  it('aborts the signal with a TimeoutError once the deadline passes', async () => {
    const deadline = new InvocationDeadline(Date.now() + 30);
    const { signal } = deadline;
    expect(signal.aborted).toBe(false);
    const reason = (await aborted(signal)) as DOMException;
    expect(reason.name).toBe('TimeoutError');
    expect(Date.now()).toBeGreaterThanOrEqual(deadline.deadlineMs);
  });

  it('hands out an already aborted signal after the deadline', async () => {
    const deadline = new InvocationDeadline(Date.now() - 1);
    let expired = false;
    deadline.enforce(() => {
      expired = true;
    });
    await new Promise((resolve) => setTimeout(resolve, 10));
    expect(expired).toBe(true);
    expect(deadline.signal.aborted).toBe(true);
  });

  it('never fires after finish()', async () => {
    const deadline = new InvocationDeadline(Date.now() + 20);
    const { signal } = deadline;
    let expired = false;
    deadline.enforce(() => {
      expired = true;
    });
    deadline.finish();
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(signal.aborted).toBe(false);
    expect(expired).toBe(false);
  });
});
