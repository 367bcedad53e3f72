import { constants as bufferConstants } from 'node:buffer';
import { connect, type Socket } from 'node:net';

/**
 * Why an {@link HttpConnection} request failed.
 *
 * - `CONNECT_FAILED`: a new TCP connection could not be opened (e.g. `ECONNREFUSED`).
 * - `CONNECTION_LOST`: the connection failed or was closed before the whole response arrived.
 * - `MALFORMED_RESPONSE`: the server sent bytes that are not a valid HTTP/1.1 response.
 * - `RESPONSE_TOO_LARGE`: the response body is larger than the connection's `maxBodyBytes`.
 * - `CLOSED`: {@link HttpConnection.close} was called.
 * - `BUSY`: a request was made while another one was still in flight on the same connection.
 */
export type HttpClientErrorCode =
  | 'CONNECT_FAILED'
  | 'CONNECTION_LOST'
  | 'MALFORMED_RESPONSE'
  | 'RESPONSE_TOO_LARGE'
  | 'CLOSED'
  | 'BUSY';

/** A request that did not produce a response; `cause` holds the socket error when there is one. */
export class HttpClientError extends Error {
  override readonly name = 'HttpClientError';
  /** What went wrong, for callers that branch on it. */
  readonly code: HttpClientErrorCode;
  constructor(code: HttpClientErrorCode, message: string, cause?: unknown) {
    super(message, cause === undefined ? undefined : { cause });
    this.code = code;
  }
}

/** A request sent with {@link HttpConnection.request}. */
export interface HttpRequest {
  readonly method: string;
  /** Origin-form request target, e.g. `/2018-06-01/runtime/invocation/next`. */
  readonly path: string;
  /**
   * Extra request headers, values sent as UTF-8 (see {@link isSendableFieldValue}). `Host` and the body framing (`Content-Length`,
   * `Transfer-Encoding`, `Trailer`) are written by the client and must not be given here.
   */
  readonly headers?: Readonly<Record<string, string>>;
  /** Sent with a `Content-Length`; a string is sent as UTF-8. */
  readonly body?: Uint8Array | string;
  /** Called once the request is written to the connection (or the write failed). */
  readonly onWritten?: () => void;
}

/** How an {@link HttpConnection} reaches its server. */
export interface HttpConnectionOptions {
  /** The `Host` header: `host:port` unless given (e.g. a URL's `host`, which omits a default port). */
  readonly hostHeader?: string;
  /** Opens the connection, e.g. with `node:tls`; a TCP connection with Nagle's algorithm off unless given. */
  readonly connect?: (host: string, port: number) => Socket;
  /** A longer response body fails with `RESPONSE_TOO_LARGE`, before it is buffered; no limit by default. */
  readonly maxBodyBytes?: number;
}

/** A streamed request started with {@link HttpConnection.streamRequest}. */
export interface HttpStreamRequestInit {
  readonly method: string;
  readonly path: string;
  /** Extra request headers; as for {@link HttpRequest.headers}. */
  readonly headers?: Readonly<Record<string, string>>;
  /** Names of the trailers `end()` may send, declared up front in a `Trailer` header. */
  readonly trailers?: readonly string[];
}

/**
 * A complete response. Header and trailer values are decoded as UTF-8; names are lower-cased;
 * repeated fields are joined with `, `.
 */
export interface HttpResponse {
  readonly status: number;
  readonly headers: Readonly<Record<string, string>>;
  /** Trailer fields of a chunked response (empty otherwise). */
  readonly trailers: Readonly<Record<string, string>>;
  readonly body: Buffer;
}

/**
 * The body of a streamed request, sent with `Transfer-Encoding: chunked`. Nothing is sent, and
 * no connection opened, before the first `write()` or `end()`.
 */
export interface HttpRequestStream {
  /**
   * Sends one chunk. Resolves once it has been handed to the OS, so awaiting each write bounds
   * memory; rejects if the connection is lost. Empty chunks are skipped (an empty chunk would
   * end the body). After the server has already answered, further chunks are dropped.
   */
  write(chunk: Uint8Array | string): Promise<void>;
  /** Ends the body, with optional trailer fields, and resolves with the response. */
  end(trailers?: Readonly<Record<string, string>>): Promise<HttpResponse>;
}

// Parser phases. Plain numbers: const enums do not survive isolatedModules across files.
const HEAD = 0;
const LENGTH = 1;
const CHUNK_SIZE = 2;
const CHUNK_DATA = 3;
const CHUNK_END = 4;
const TRAILERS = 5;
const UNTIL_EOF = 6;
type Phase =
  | typeof HEAD
  | typeof LENGTH
  | typeof CHUNK_SIZE
  | typeof CHUNK_DATA
  | typeof CHUNK_END
  | typeof TRAILERS
  | typeof UNTIL_EOF;

/** Far above anything the Runtime API sends; bounds memory if a peer never ends its head. */
const MAX_HEAD_BYTES = 128 * 1024;
const MAX_CHUNK_LINE_BYTES = 4096;
/** 12 hex digits keep chunk sizes exact in a double and far above any real chunk. */
const MAX_CHUNK_SIZE_DIGITS = 12;

const CR = 0x0d;
const LF = 0x0a;
const CRLFCRLF = Buffer.from('\r\n\r\n', 'latin1');
const EMPTY = Buffer.alloc(0);

/** RFC 9110 `tchar` lookup, indexed by char code. */
const TOKEN = new Uint8Array(128);
for (const c of "!#$%&'*+-.^_`|~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz") {
  TOKEN[c.charCodeAt(0)] = 1;
}

/** Hex digit value by byte, -1 for anything else. */
const HEX = new Int8Array(256).fill(-1);
for (let i = 0; i < 16; i++) {
  HEX[i.toString(16).charCodeAt(0)] = i;
  HEX[i.toString(16).toUpperCase().charCodeAt(0)] = i;
}

function isToken(s: string): boolean {
  if (s.length === 0) return false;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c >= 128 || TOKEN[c] !== 1) return false;
  }
  return true;
}

/**
 * Whether `value` can be sent as a header field value: no control characters (CR, LF and NUL
 * would end the line early; RFC 9110 allows none but HTAB) and no U+FFFD, which is what bytes
 * that were not UTF-8 decode to, so the value would not go back out as the bytes that came in.
 * Anything else is sent as UTF-8, the encoding the Runtime API's headers are read in.
 */
export function isSendableFieldValue(value: string): boolean {
  for (let i = 0; i < value.length; i++) {
    const c = value.charCodeAt(i);
    if ((c < 0x20 && c !== 0x09) || c === 0x7f || c === 0xfffd) return false;
  }
  return true;
}

function assertFieldValue(value: string, what: string): void {
  if (!isSendableFieldValue(value)) throw new TypeError(`${what} contains a control character or U+FFFD`);
}

/** Framing headers the client owns; a caller's copy would make the message ambiguous. */
const RESERVED_HEADERS = new Set(['host', 'content-length', 'transfer-encoding', 'trailer']);

function serializeHeaders(headers: Readonly<Record<string, string>> | undefined): string {
  let out = '';
  if (headers === undefined) return out;
  for (const name in headers) {
    const value = headers[name];
    if (value === undefined) continue;
    if (!isToken(name)) throw new TypeError(`invalid header name ${JSON.stringify(name)}`);
    if (RESERVED_HEADERS.has(name.toLowerCase())) {
      throw new TypeError(`header ${name} is set by the HTTP client`);
    }
    assertFieldValue(value, `header ${name}`);
    out += `${name}: ${value}\r\n`;
  }
  return out;
}

function requestLine(method: string, path: string, host: string): string {
  if (!isToken(method)) throw new TypeError(`invalid method ${JSON.stringify(method)}`);
  // A space would split the request line; CR/LF would inject headers.
  if (path.length === 0 || path.includes(' ')) throw new TypeError(`invalid request target ${JSON.stringify(path)}`);
  for (let i = 0; i < path.length; i++) {
    const c = path.charCodeAt(i);
    if (c <= 0x20 || c >= 0x7f) throw new TypeError('request target contains a control, space or non-ASCII character');
  }
  return `${method} ${path} HTTP/1.1\r\nHost: ${host}\r\n`;
}

class MalformedResponse extends Error {}
class BodyTooLarge extends Error {}

function isOws(c: number): boolean {
  return c === 0x20 || c === 0x09;
}

/**
 * Parses `name: value` lines of `text` (each ending in CRLF, the last one possibly not) into
 * `into`. Bare CR or LF, obsolete line folding and non-token names are refused.
 */
function parseFieldLines(text: string, start: number, into: Record<string, string>): void {
  const len = text.length;
  let pos = start;
  while (pos < len) {
    let eol = text.indexOf('\r\n', pos);
    if (eol < 0) eol = len;
    const lf = text.indexOf('\n', pos);
    if (lf >= 0 && lf !== eol + 1) throw new MalformedResponse('bare LF in a header line');
    const cr = text.indexOf('\r', pos);
    if (cr >= 0 && cr !== eol) throw new MalformedResponse('bare CR in a header line');
    const first = text.charCodeAt(pos);
    if (isOws(first)) throw new MalformedResponse('obsolete header line folding');
    const colon = text.indexOf(':', pos);
    if (colon < 0 || colon > eol) throw new MalformedResponse('header line without a colon');
    const name = text.slice(pos, colon);
    if (!isToken(name)) throw new MalformedResponse(`invalid header name ${JSON.stringify(name)}`);
    let vs = colon + 1;
    let ve = eol;
    while (vs < ve && isOws(text.charCodeAt(vs))) vs++;
    while (ve > vs && isOws(text.charCodeAt(ve - 1))) ve--;
    const value = text.slice(vs, ve);
    const key = name.toLowerCase();
    const prev = into[key];
    into[key] = prev === undefined ? value : `${prev}, ${value}`;
    pos = eol + 2;
  }
}

/** Whether a comma-separated header value holds `token` (case-insensitive). */
function hasToken(value: string | undefined, token: string): boolean {
  if (value === undefined) return false;
  const lower = value.toLowerCase();
  if (lower === token) return true;
  if (!lower.includes(token)) return false;
  for (const part of lower.split(',')) if (part.trim() === token) return true;
  return false;
}

function parseContentLength(value: string): number {
  // Repeated identical values ("5, 5") are allowed by RFC 9110; differing ones are not.
  const invalid = (): MalformedResponse => new MalformedResponse(`invalid Content-Length ${JSON.stringify(value)}`);
  let result = -1;
  for (const part of value.split(',')) {
    const s = part.trim();
    if (s.length === 0 || s.length > 15) throw invalid();
    let n = 0;
    for (let i = 0; i < s.length; i++) {
      const d = s.charCodeAt(i) - 0x30;
      if (d < 0 || d > 9) throw invalid();
      n = n * 10 + d;
    }
    if (result !== -1 && n !== result) throw invalid();
    result = n;
  }
  if (result > bufferConstants.MAX_LENGTH) {
    throw new MalformedResponse(`Content-Length ${result} is larger than a Buffer can hold`);
  }
  return result;
}

function byteLength(chunk: Uint8Array | string): number {
  return typeof chunk === 'string' ? Buffer.byteLength(chunk) : chunk.byteLength;
}

/** One request/response exchange, from the call until it settles. */
interface Exchange {
  readonly head: string;
  readonly body: Uint8Array | string | undefined;
  /** A HEAD request: the response has no body whatever its headers say. */
  readonly noResponseBody: boolean;
  readonly streaming: boolean;
  readonly resolve: (res: HttpResponse) => void;
  readonly reject: (err: HttpClientError) => void;
  readonly onWritten: (() => void) | undefined;
  /** Written to a socket (for a stream: the head has been sent). */
  dispatched: boolean;
  /** Allowed one more attempt on a fresh connection (the keep-alive race). */
  retriable: boolean;
  retried: boolean;
  /** The whole request has been written (a stream: `end()` was called). */
  requestComplete: boolean;
  settled: boolean;
  failure: HttpClientError | undefined;
  response: HttpResponse | undefined;
}

/**
 * One keep-alive HTTP/1.1 connection to `host:port`, carrying one request at a time, written
 * directly on `node:net` because the Runtime API loop spends most of its own CPU in the HTTP
 * client (see docs/design.md). There is no timeout: `/next` long-polls for as long as Lambda
 * wants.
 *
 * The TCP connection is opened on the first request (or ahead of it, {@link HttpConnection.preconnect})
 * and reopened when the server has closed it.
 * A request on a reused connection that fails before any response byte arrives (the server
 * closed the idle connection while the request was on its way) is retried once on a fresh
 * connection; failures on a fresh connection reject with {@link HttpClientError}. Streamed
 * requests are never retried, their body having been consumed.
 *
 * Bytes the server sends ahead of a request are kept and read as that request's response, as a
 * pipelining client would.
 */
export class HttpConnection {
  readonly #host: string;
  readonly #port: number;
  readonly #hostHeader: string;
  readonly #connect: ((host: string, port: number) => Socket) | undefined;
  readonly #maxBodyBytes: number;

  #socket: Socket | undefined;
  #connected = false;
  /** The socket has carried a request: it is a reused one for the next (not so after preconnect). */
  #carried = false;
  #closed = false;
  #active: Exchange | undefined;

  // Response parser state; reset for each response.
  #phase: Phase = HEAD;
  /** Unconsumed bytes of an incomplete line-delimited part (head, chunk size, trailers). */
  #held: Buffer[] = [];
  #heldBytes = 0;
  /** Some response byte arrived for the exchange in flight: it can no longer be retried. */
  #sawResponseBytes = false;
  #status = 0;
  #headers: Record<string, string> = {};
  #trailers: Record<string, string> = {};
  #keepAlive = true;
  /** Bytes still expected in the Content-Length body or the current chunk. */
  #remaining = 0;
  #bodyBuf: Buffer | undefined;
  #bodyOff = 0;
  #bodyParts: Buffer[] = [];
  /** Bytes of a chunked or close-delimited body so far. */
  #streamedBytes = 0;

  /** @param host name or IP address; @param port TCP port. */
  constructor(host: string, port: number, options: HttpConnectionOptions = {}) {
    this.#host = host;
    this.#port = port;
    if (options.hostHeader !== undefined) assertFieldValue(options.hostHeader, 'the Host header');
    this.#hostHeader = options.hostHeader ?? (host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`);
    this.#connect = options.connect;
    this.#maxBodyBytes = Math.min(options.maxBodyBytes ?? Number.POSITIVE_INFINITY, bufferConstants.MAX_LENGTH);
  }

  /** Sends a request with a `Content-Length` body (or none) and resolves with the full response. */
  request(req: HttpRequest): Promise<HttpResponse> {
    const refusal = this.#refusal();
    if (refusal !== undefined) return Promise.reject(refusal);
    let head: string;
    try {
      head = requestLine(req.method, req.path, this.#hostHeader) + serializeHeaders(req.headers);
    } catch (err) {
      return Promise.reject(err);
    }
    const { body } = req;
    if (body !== undefined) {
      head += `Content-Length: ${byteLength(body)}\r\n\r\n`;
    } else if (req.method === 'GET' || req.method === 'HEAD') {
      head += '\r\n';
    } else {
      head += 'Content-Length: 0\r\n\r\n';
    }
    return new Promise<HttpResponse>((resolve, reject) => {
      const ex = newExchange(head, body, req.method === 'HEAD', false, resolve, reject, req.onWritten);
      this.#active = ex;
      this.#dispatch(ex);
    });
  }

  /**
   * Starts a request whose body is streamed with `Transfer-Encoding: chunked`. The connection is
   * taken from this call until the response has arrived.
   */
  streamRequest(init: HttpStreamRequestInit): HttpRequestStream {
    const refusal = this.#refusal();
    if (refusal !== undefined) {
      const fail = Promise.reject(refusal);
      fail.catch(() => {});
      return { write: () => fail, end: () => fail };
    }
    let head = requestLine(init.method, init.path, this.#hostHeader) + serializeHeaders(init.headers);
    head += 'Transfer-Encoding: chunked\r\n';
    if (init.trailers !== undefined && init.trailers.length > 0) {
      for (const name of init.trailers) {
        if (!isToken(name)) throw new TypeError(`invalid trailer name ${JSON.stringify(name)}`);
      }
      head += `Trailer: ${init.trailers.join(', ')}\r\n`;
    }
    head += '\r\n';

    let resolveRes!: (res: HttpResponse) => void;
    let rejectRes!: (err: HttpClientError) => void;
    const response = new Promise<HttpResponse>((resolve, reject) => {
      resolveRes = resolve;
      rejectRes = reject;
    });
    // The caller may abandon the stream without calling end(); that must not crash the process.
    response.catch(() => {});
    const ex = newExchange(head, undefined, init.method === 'HEAD', true, resolveRes, rejectRes);
    this.#active = ex;
    let socket: Socket | undefined;

    const send = (data: string, chunk: Uint8Array | string | undefined, tail: string): Promise<void> =>
      new Promise<void>((resolve, reject) => {
        if (ex.failure !== undefined) return reject(ex.failure);
        if (!ex.dispatched) {
          if (this.#active !== ex) return reject(new HttpClientError('CLOSED', 'the connection was closed'));
          socket = this.#dispatch(ex);
          data = ex.head + data;
        }
        // Bytes held from before the head was sent may already have completed the exchange.
        if (ex.response !== undefined) return resolve();
        const s = socket;
        if (s === undefined || s.destroyed) {
          return reject(ex.failure ?? new HttpClientError('CONNECTION_LOST', 'the connection was lost'));
        }
        const done = (err?: Error | null): void => {
          if (err == null) resolve();
          else reject(ex.failure ?? new HttpClientError('CONNECTION_LOST', 'the connection was lost', err));
        };
        if (chunk === undefined) {
          s.write(data, 'utf8', done);
        } else {
          s.cork();
          s.write(data, 'utf8');
          s.write(chunk);
          s.write(tail, 'utf8', done);
          s.uncork();
        }
      });

    return {
      write: (chunk) => {
        if (ex.requestComplete) return Promise.reject(new Error('write after end'));
        // The server has answered already: the rest of the body has nowhere to go.
        if (ex.response !== undefined) return Promise.resolve();
        const size = byteLength(chunk);
        if (size === 0) return ex.failure === undefined ? Promise.resolve() : Promise.reject(ex.failure);
        return send(`${size.toString(16)}\r\n`, chunk, '\r\n');
      },
      end: (trailers) => {
        if (ex.requestComplete) return response;
        let last = '0\r\n';
        try {
          if (trailers !== undefined) last += serializeTrailers(trailers);
        } catch (err) {
          return Promise.reject(err);
        }
        last += '\r\n';
        ex.requestComplete = true;
        if (ex.response === undefined) {
          send(last, undefined, '').catch(() => {
            // Reported through the response promise.
          });
        }
        return response;
      },
    };
  }

  /**
   * Opens the connection now, so the first request does not wait for the handshake. No-op when
   * a socket is open or the connection is closed. The idle socket does not keep the process
   * alive. If it fails, the server closes it, or it receives bytes, while idle, the next request
   * goes on a new socket; a failure under that first request is not retried, as on any socket
   * that has carried no request.
   */
  preconnect(): void {
    if (this.#closed || this.#socket !== undefined) return;
    this.#open().unref();
  }

  /** Destroys the socket; a request in flight rejects with code `CLOSED`, later ones too. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#fail(new HttpClientError('CLOSED', 'the connection was closed'));
    this.#dropSocket();
  }

  #refusal(): HttpClientError | undefined {
    if (this.#closed) return new HttpClientError('CLOSED', 'the connection was closed');
    if (this.#active !== undefined) {
      return new HttpClientError('BUSY', 'a request is already in flight on this connection');
    }
    return undefined;
  }

  /** Writes the exchange (for a stream only its head, by the caller) on a live or new socket. */
  #dispatch(ex: Exchange): Socket {
    let socket = this.#socket;
    if (socket?.destroyed === true || (socket !== undefined && !this.#carried && this.#heldBytes > 0)) {
      // Failed or closed, with the event not delivered yet; or an early socket the server spoke
      // on before any request: no response can be due on it.
      this.#dropSocket();
      socket = undefined;
    }
    // A reused socket may have been dropped by the server while idle: a failure before any
    // response byte is retried once on a new socket. On a socket that has carried no request (a
    // new one, or one preconnect opened) the failure is final.
    ex.retriable = socket !== undefined && this.#carried && !ex.retried && !ex.streaming;
    if (socket === undefined) socket = this.#open();
    else socket.ref();
    this.#carried = true;
    ex.dispatched = true;
    this.#resetParser();
    this.#sawResponseBytes = false;
    if (!ex.streaming) {
      const { body } = ex;
      const written = ex.onWritten;
      if (body === undefined) {
        socket.write(ex.head, 'utf8', written);
      } else if (typeof body === 'string' && body.length < 16384) {
        // One string, one write: cheaper than a writev for the small bodies of the hot loop.
        socket.write(ex.head + body, 'utf8', written);
      } else {
        socket.cork();
        socket.write(ex.head, 'utf8');
        socket.write(body, written);
        socket.uncork();
      }
      ex.requestComplete = true;
    }
    if (this.#heldBytes > 0) {
      // Bytes that arrived while idle: they are this request's response.
      const early = this.#takeHeld();
      this.#sawResponseBytes = true;
      this.#consume(early, socket);
    }
    return socket;
  }

  #open(): Socket {
    const socket = this.#connect?.(this.#host, this.#port) ?? connect({ host: this.#host, port: this.#port, noDelay: true });
    this.#socket = socket;
    this.#connected = false;
    this.#carried = false;
    socket.on('connect', () => {
      if (this.#socket === socket) this.#connected = true;
    });
    socket.on('data', (chunk: Buffer) => {
      if (this.#socket !== socket) return;
      const ex = this.#active;
      if (ex === undefined || !ex.dispatched || ex.settled) {
        // Unsolicited bytes: keep them for the next request, within the head limit.
        this.#hold(chunk);
        if (this.#heldBytes > MAX_HEAD_BYTES) this.#dropSocket();
        return;
      }
      this.#sawResponseBytes = true;
      this.#consume(chunk, socket);
    });
    socket.on('end', () => {
      if (this.#socket !== socket) return;
      const ex = this.#active;
      if (ex !== undefined && ex.dispatched && !ex.settled) {
        if (this.#phase === UNTIL_EOF) {
          this.#keepAlive = false;
          this.#complete(Buffer.concat(this.#bodyParts));
          return;
        }
        this.#lost(undefined, 'the server closed the connection before the response was complete');
        return;
      }
      // The server closed an idle keep-alive connection; the next request opens a new one.
      this.#dropSocket();
    });
    socket.on('error', (err) => {
      if (this.#socket !== socket) return;
      this.#lost(err, `connection to ${this.#hostHeader} failed: ${err.message}`);
    });
    socket.on('close', () => {
      if (this.#socket !== socket) return;
      this.#lost(undefined, 'the connection was closed before the response was complete');
    });
    return socket;
  }

  /** The socket failed or closed: retry once, reject, or (when idle) just forget it. */
  #lost(cause: Error | undefined, message: string): void {
    const wasConnected = this.#connected;
    this.#dropSocket();
    const ex = this.#active;
    if (ex === undefined || !ex.dispatched || ex.settled) return;
    if (ex.retriable && !this.#sawResponseBytes) {
      ex.retried = true;
      this.#dispatch(ex);
      return;
    }
    const code = wasConnected ? 'CONNECTION_LOST' : 'CONNECT_FAILED';
    if (code === 'CONNECT_FAILED' && cause !== undefined) {
      message = `could not connect to ${this.#hostHeader}: ${cause.message}`;
    }
    this.#fail(new HttpClientError(code, message, cause));
  }

  #fail(err: HttpClientError): void {
    const ex = this.#active;
    if (ex === undefined) return;
    this.#active = undefined;
    if (ex.settled) return;
    ex.settled = true;
    ex.failure = err;
    ex.reject(err);
  }

  #dropSocket(): void {
    const socket = this.#socket;
    if (socket === undefined) return;
    this.#socket = undefined;
    this.#connected = false;
    this.#held = [];
    this.#heldBytes = 0;
    socket.destroy();
  }

  #resetParser(): void {
    this.#phase = HEAD;
    this.#status = 0;
    this.#headers = Object.create(null) as Record<string, string>;
    this.#trailers = EMPTY_FIELDS;
    this.#keepAlive = true;
    this.#remaining = 0;
    this.#bodyBuf = undefined;
    this.#bodyOff = 0;
    this.#bodyParts = [];
    this.#streamedBytes = 0;
  }

  #hold(chunk: Buffer): void {
    this.#held.push(chunk);
    this.#heldBytes += chunk.length;
  }

  #takeHeld(): Buffer {
    const held = this.#held;
    const data = held.length === 1 ? (held[0] as Buffer) : Buffer.concat(held, this.#heldBytes);
    this.#held = [];
    this.#heldBytes = 0;
    return data;
  }

  /** Feeds received bytes to the parser; settles the exchange when a response is complete. */
  #consume(chunk: Buffer, socket: Socket): void {
    let data = chunk;
    if (this.#heldBytes > 0) {
      // A line-delimited part is incomplete: it cannot end before the next LF, so avoid
      // re-copying the held bytes for every packet that does not carry one.
      if (chunk.indexOf(LF) < 0) {
        this.#hold(chunk);
        this.#checkHeldLimit();
        return;
      }
      this.#hold(chunk);
      data = this.#takeHeld();
    }
    try {
      this.#parse(data, socket);
    } catch (err) {
      // Thrown from a socket event, anything else (say, an allocation failing) would be fatal.
      this.#dropSocket();
      if (err instanceof BodyTooLarge) {
        this.#fail(new HttpClientError('RESPONSE_TOO_LARGE', `the response body is larger than ${this.#maxBodyBytes} bytes`));
        return;
      }
      const known = err instanceof MalformedResponse;
      const message = `malformed HTTP response: ${known ? err.message : `could not be read (${String(err)})`}`;
      this.#fail(new HttpClientError('MALFORMED_RESPONSE', message, known ? undefined : err));
    }
  }

  #checkHeldLimit(): void {
    const limit = this.#phase === CHUNK_SIZE || this.#phase === CHUNK_END ? MAX_CHUNK_LINE_BYTES : MAX_HEAD_BYTES;
    if (this.#heldBytes > limit) {
      this.#dropSocket();
      this.#fail(new HttpClientError('MALFORMED_RESPONSE', 'malformed HTTP response: header or chunk line too long'));
    }
  }

  #parse(data: Buffer, socket: Socket): void {
    const end = data.length;
    let pos = 0;
    while (pos < end) {
      switch (this.#phase) {
        case HEAD: {
          const stop = data.indexOf(CRLFCRLF, pos);
          if (stop < 0) {
            if (end - pos > MAX_HEAD_BYTES) throw new MalformedResponse('response head too long');
            this.#hold(data.subarray(pos));
            return;
          }
          if (stop - pos > MAX_HEAD_BYTES) throw new MalformedResponse('response head too long');
          this.#parseHead(data.toString('utf8', pos, stop));
          pos = stop + 4;
          if (this.#status < 200) {
            // Informational answer (e.g. 100 Continue): the real one follows.
            this.#resetParser();
            continue;
          }
          if (this.#phase === HEAD) {
            // No body.
            this.#complete(EMPTY);
            this.#afterComplete(data, pos, socket);
            return;
          }
          continue;
        }
        case LENGTH: {
          const avail = end - pos;
          if (this.#bodyBuf === undefined) {
            if (avail >= this.#remaining) {
              // Whole body in this packet: hand out a view, no copy.
              const body = data.subarray(pos, pos + this.#remaining);
              pos += this.#remaining;
              this.#complete(body);
              this.#afterComplete(data, pos, socket);
              return;
            }
            this.#bodyBuf = Buffer.allocUnsafe(this.#remaining);
            this.#bodyOff = 0;
          }
          const want = this.#bodyBuf.length - this.#bodyOff;
          const n = avail < want ? avail : want;
          data.copy(this.#bodyBuf, this.#bodyOff, pos, pos + n);
          this.#bodyOff += n;
          pos += n;
          if (this.#bodyOff === this.#bodyBuf.length) {
            this.#complete(this.#bodyBuf);
            this.#afterComplete(data, pos, socket);
            return;
          }
          continue;
        }
        case CHUNK_SIZE: {
          const lf = data.indexOf(LF, pos);
          if (lf < 0) {
            if (end - pos > MAX_CHUNK_LINE_BYTES) throw new MalformedResponse('chunk size line too long');
            this.#hold(data.subarray(pos));
            return;
          }
          if (lf - pos > MAX_CHUNK_LINE_BYTES) throw new MalformedResponse('chunk size line too long');
          const size = parseChunkSize(data, pos, lf);
          pos = lf + 1;
          if (size === 0) {
            this.#phase = TRAILERS;
          } else {
            this.#streamedBytes += size;
            if (this.#streamedBytes > bufferConstants.MAX_LENGTH) {
              throw new MalformedResponse('chunked body larger than a Buffer can hold');
            }
            if (this.#streamedBytes > this.#maxBodyBytes) throw new BodyTooLarge();
            this.#remaining = size;
            this.#phase = CHUNK_DATA;
          }
          continue;
        }
        case CHUNK_DATA: {
          const avail = end - pos;
          const n = avail < this.#remaining ? avail : this.#remaining;
          this.#bodyParts.push(data.subarray(pos, pos + n));
          this.#remaining -= n;
          pos += n;
          if (this.#remaining === 0) this.#phase = CHUNK_END;
          continue;
        }
        case CHUNK_END: {
          if (end - pos < 2) {
            if (data[pos] !== CR) throw new MalformedResponse('chunk data not followed by CRLF');
            this.#hold(data.subarray(pos));
            return;
          }
          if (data[pos] !== CR || data[pos + 1] !== LF) throw new MalformedResponse('chunk data not followed by CRLF');
          pos += 2;
          this.#phase = CHUNK_SIZE;
          continue;
        }
        case TRAILERS: {
          if (data[pos] === CR && pos + 1 < end) {
            if (data[pos + 1] !== LF) throw new MalformedResponse('bare CR after the last chunk');
            // No trailer fields.
            pos += 2;
            this.#complete(concatParts(this.#bodyParts));
            this.#afterComplete(data, pos, socket);
            return;
          }
          const stop = data.indexOf(CRLFCRLF, pos);
          if (stop < 0) {
            if (end - pos > MAX_HEAD_BYTES) throw new MalformedResponse('trailer section too long');
            this.#hold(data.subarray(pos));
            return;
          }
          if (stop - pos > MAX_HEAD_BYTES) throw new MalformedResponse('trailer section too long');
          const trailers = Object.create(null) as Record<string, string>;
          parseFieldLines(data.toString('utf8', pos, stop), 0, trailers);
          this.#trailers = trailers;
          pos = stop + 4;
          this.#complete(concatParts(this.#bodyParts));
          this.#afterComplete(data, pos, socket);
          return;
        }
        case UNTIL_EOF: {
          this.#streamedBytes += end - pos;
          if (this.#streamedBytes > this.#maxBodyBytes) throw new BodyTooLarge();
          this.#bodyParts.push(pos === 0 ? data : data.subarray(pos));
          return;
        }
      }
    }
  }

  /** Keeps bytes past the end of a response for the next request, on a reusable connection. */
  #afterComplete(data: Buffer, pos: number, socket: Socket): void {
    if (this.#socket === socket && pos < data.length) this.#hold(data.subarray(pos));
  }

  /** Reads the status line and headers; decides how the body is delimited. */
  #parseHead(text: string): void {
    // "HTTP/1.x SSS" then an optional " reason".
    if (
      text.length < 12 ||
      !text.startsWith('HTTP/1.') ||
      (text.charCodeAt(7) !== 0x31 && text.charCodeAt(7) !== 0x30) ||
      text.charCodeAt(8) !== 0x20
    ) {
      throw new MalformedResponse(`invalid status line ${JSON.stringify(text.slice(0, Math.min(text.length, 40)))}`);
    }
    const d0 = text.charCodeAt(9) - 0x30;
    const d1 = text.charCodeAt(10) - 0x30;
    const d2 = text.charCodeAt(11) - 0x30;
    const after = text.charCodeAt(12);
    const digitsOk = d0 >= 1 && d0 <= 5 && d1 >= 0 && d1 <= 9 && d2 >= 0 && d2 <= 9;
    if (!digitsOk || (text.length > 12 && after !== 0x20 && after !== CR)) {
      throw new MalformedResponse(`invalid status line ${JSON.stringify(text.slice(0, Math.min(text.length, 40)))}`);
    }
    const status = d0 * 100 + d1 * 10 + d2;
    this.#status = status;
    const eol = text.indexOf('\r\n');
    const headers = this.#headers;
    if (eol >= 0) parseFieldLines(text, eol + 2, headers);
    if (status < 200) {
      if (status === 101) throw new MalformedResponse('unexpected 101 Switching Protocols');
      return;
    }

    const http10 = text.charCodeAt(7) === 0x30;
    const connection = headers['connection'];
    this.#keepAlive = http10 ? hasToken(connection, 'keep-alive') : !hasToken(connection, 'close');
    const ex = this.#active;
    if ((ex !== undefined && ex.noResponseBody) || status === 204 || status === 304) {
      this.#phase = HEAD;
      return;
    }
    const te = headers['transfer-encoding'];
    if (te !== undefined) {
      const lower = te.toLowerCase();
      const lastComma = lower.lastIndexOf(',');
      const final = (lastComma < 0 ? lower : lower.slice(lastComma + 1)).trim();
      if (final === 'chunked') {
        this.#phase = CHUNK_SIZE;
        // Content-Length alongside Transfer-Encoding is a smuggling smell: do not reuse.
        if (headers['content-length'] !== undefined) this.#keepAlive = false;
      } else {
        this.#phase = UNTIL_EOF;
        this.#keepAlive = false;
      }
      return;
    }
    const cl = headers['content-length'];
    if (cl !== undefined) {
      const length = parseContentLength(cl);
      if (length > this.#maxBodyBytes) throw new BodyTooLarge();
      this.#remaining = length;
      this.#phase = length === 0 ? HEAD : LENGTH;
      return;
    }
    this.#phase = UNTIL_EOF;
    this.#keepAlive = false;
  }

  #complete(body: Buffer): void {
    const ex = this.#active;
    if (ex === undefined) return;
    const response: HttpResponse = { status: this.#status, headers: this.#headers, trailers: this.#trailers, body };
    this.#phase = HEAD;
    this.#active = undefined;
    ex.settled = true;
    ex.response = response;
    // A stream the server answered early is mid-body: the connection cannot carry another request.
    if (!this.#keepAlive || !ex.requestComplete) this.#dropSocket();
    else this.#socket?.unref();
    ex.resolve(response);
  }
}

const EMPTY_FIELDS: Readonly<Record<string, string>> = Object.freeze(Object.create(null) as Record<string, string>);

function newExchange(
  head: string,
  body: Uint8Array | string | undefined,
  noResponseBody: boolean,
  streaming: boolean,
  resolve: (res: HttpResponse) => void,
  reject: (err: HttpClientError) => void,
  onWritten?: () => void,
): Exchange {
  return {
    head,
    body,
    noResponseBody,
    streaming,
    resolve,
    reject,
    onWritten,
    dispatched: false,
    retriable: false,
    retried: false,
    requestComplete: false,
    settled: false,
    failure: undefined,
    response: undefined,
  };
}

function serializeTrailers(trailers: Readonly<Record<string, string>>): string {
  let out = '';
  for (const name in trailers) {
    const value = trailers[name];
    if (value === undefined) continue;
    if (!isToken(name)) throw new TypeError(`invalid trailer name ${JSON.stringify(name)}`);
    assertFieldValue(value, `trailer ${name}`);
    out += `${name}: ${value}\r\n`;
  }
  return out;
}

function concatParts(parts: Buffer[]): Buffer {
  if (parts.length === 0) return EMPTY;
  if (parts.length === 1) return parts[0] as Buffer;
  return Buffer.concat(parts);
}

/** Parses `1*HEXDIG [ BWS ";" ext ] CRLF` between `start` and the LF at `lf`. */
function parseChunkSize(data: Buffer, start: number, lf: number): number {
  if (lf === start || data[lf - 1] !== CR) throw new MalformedResponse('chunk size line not ended by CRLF');
  const stop = lf - 1;
  let i = start;
  let size = 0;
  while (i < stop) {
    const v = HEX[data[i] as number] as number;
    if (v < 0) break;
    size = size * 16 + v;
    i++;
  }
  const digits = i - start;
  if (digits === 0) throw new MalformedResponse('chunk size is not hexadecimal');
  if (digits > MAX_CHUNK_SIZE_DIGITS) throw new MalformedResponse('chunk size too large');
  while (i < stop && isOws(data[i] as number)) i++;
  if (i < stop && data[i] !== 0x3b) throw new MalformedResponse('invalid chunk size line');
  // Chunk extensions (after ';') carry nothing we use; only bare CR is refused there.
  for (let j = i; j < stop; j++) if (data[j] === CR) throw new MalformedResponse('bare CR in a chunk extension');
  return size;
}
