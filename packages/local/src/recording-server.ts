import { once } from 'node:events';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { JsonObject, RecordedCall } from './aws-json-server.js';

/** A recorded request; `errorCode` is filled in once the answer is known. */
export interface MutableCall {
  operation: string;
  input: JsonObject;
  at: number;
  errorCode: string | undefined;
  userAgent: string | undefined;
}

/**
 * The plumbing every AWS stand-in shares: an HTTP server on 127.0.0.1 and the log of the calls
 * it served. The service logic stays in the stand-in that owns it.
 */
export class RecordingServer {
  readonly #handler: (req: IncomingMessage, res: ServerResponse) => Promise<void>;
  readonly #calls: MutableCall[] = [];
  #server: Server | undefined;
  #url: string | undefined;

  /** @param handler - Answers one request; it records the call with {@link RecordingServer.record}. */
  constructor(handler: (req: IncomingMessage, res: ServerResponse) => Promise<void>) {
    this.#handler = handler;
  }

  /** Binds to 127.0.0.1 on a free port. */
  async listen(): Promise<void> {
    const server = createServer((req, res) => void this.#handler(req, res));
    // once() rejects if 'error' comes first.
    await once(server.listen(0, '127.0.0.1'), 'listening');
    this.#server = server;
    this.#url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  }

  /** `http://127.0.0.1:PORT`, the endpoint to give the SDK client. */
  get url(): string {
    if (this.#url === undefined) throw new Error('stand-in is not listening');
    return this.#url;
  }

  /** Requests received so far, oldest first (copies). */
  get calls(): readonly RecordedCall[] {
    return this.#calls.map((call) => ({ ...call }));
  }

  /** How many requests were received, for `operation` or in all. */
  callCount(operation?: string): number {
    return operation === undefined ? this.#calls.length : this.#calls.filter((call) => call.operation === operation).length;
  }

  /** Forgets the recorded requests. */
  resetCalls(): void {
    this.#calls.length = 0;
  }

  /** Records a request as it arrives; `input` must already be redacted. */
  record(operation: string, input: JsonObject, userAgent?: string): MutableCall {
    const call: MutableCall = { operation, input, at: Date.now(), errorCode: undefined, userAgent };
    this.#calls.push(call);
    return call;
  }

  /** Stops listening and drops open connections. */
  async close(): Promise<void> {
    const server = this.#server;
    if (server === undefined) return;
    this.#server = undefined;
    const closed = new Promise<void>((resolve) => server.close(() => resolve()));
    // The SDK keeps sockets alive; without this close() would wait for them to time out.
    server.closeAllConnections();
    await closed;
  }
}
