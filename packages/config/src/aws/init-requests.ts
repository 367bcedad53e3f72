/**
 * Calls made ahead of init: the contract between the runtime, which sends a definition's init
 * calls before it imports the handler module, and the lean path, which takes their answers
 * instead of sending the same calls again (docs/design.md, "Init requests ahead of the handler").
 * Also the recorder that lists those calls while an image is built.
 */
import type { RawResponse } from './signed-request.js';

// On globalThis: the runtime's bundled sender and the handler bundle's copy of this package are
// two module instances that must meet.
const ANSWERS = Symbol.for('@custom-runtime/init-answers');

type AnswerMap = Map<string, Promise<RawResponse>>;

// The runtime closes the slot once init is over (a non-writable null): nothing offered later,
// by anyone, is ever taken.
function answers(create: boolean): AnswerMap | undefined {
  const holder = globalThis as { [ANSWERS]?: AnswerMap | null };
  const current = holder[ANSWERS];
  if (current instanceof Map) return current;
  if (current !== undefined || !create) return undefined;
  const map: AnswerMap = new Map();
  holder[ANSWERS] = map;
  return map;
}

/**
 * What makes two calls the same: where they go, how they are signed and what they say. An answer
 * sent ahead is used only for a byte-identical request signed with the same access key.
 */
export function initAnswerKey(url: URL, region: string, target: string, accessKeyId: string, body: string): string {
  return `${url.href}\n${region}\n${target}\n${accessKeyId}\n${body}`;
}

/** Offers the answer of a call sent ahead, for the first identical call to take. */
export function offerInitAnswer(key: string, answer: Promise<RawResponse>): void {
  // Never an unhandled rejection: a transport failure is the taker's to report, or nobody's.
  answer.catch(() => undefined);
  answers(true)?.set(key, answer);
}

/** Takes (once) the answer sent ahead for this call, if there is one. */
export function takeInitAnswer(key: string): Promise<RawResponse> | undefined {
  const map = answers(false);
  const answer = map?.get(key);
  if (answer !== undefined) map?.delete(key);
  return answer;
}

/** Drops answers nobody took (init is over: a later call must fetch fresh values). */
export function dropInitAnswers(): void {
  answers(false)?.clear();
}

/** One call the lean path would make, as the recorder saw it. */
export interface RecordedCall {
  /** SigV4 signing name: `secretsmanager`, `kms` or `ssm`. */
  readonly service: string;
  readonly operation: string;
  /** The JSON body, exactly as it would be sent. */
  readonly body: string;
}

let recorder: RecordedCall[] | undefined;

/** Whether calls are being recorded (image build only): see {@link recordCalls}. */
export function isRecording(): boolean {
  return recorder !== undefined;
}

/**
 * Records `call` (`undefined`: a call nobody sends ahead) and never answers it, so no follow-up
 * call (paging, fallbacks) is made.
 */
export function recordCall(call: RecordedCall | undefined): Promise<never> {
  if (call !== undefined) recorder?.push(call);
  return new Promise<never>(() => undefined);
}

/**
 * Runs `start` with recording on and returns the calls it made before its first answer was
 * awaited. Every lean call is recorded instead of sent, whatever the credentials and endpoint.
 */
export async function recordCalls(start: () => void): Promise<RecordedCall[]> {
  const calls: RecordedCall[] = [];
  recorder = calls;
  try {
    start();
    // The first calls are made after a few promise turns (clients, cache); then nothing moves.
    for (let i = 0; i < 3; i++) await new Promise((resolve) => setImmediate(resolve));
  } finally {
    recorder = undefined;
  }
  return calls;
}
