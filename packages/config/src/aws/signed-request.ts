import type { Hash, Hmac } from 'node:crypto';
import type { Agent as HttpAgent, IncomingMessage } from 'node:http';
import type { Agent as HttpsAgent } from 'node:https';
import type { Socket } from 'node:net';
import { AwsCallError } from './call-error.js';
import type { Credentials } from './credentials.js';

// A built-in from process.getBuiltinModule, not an import: docs/design.md, "Built-in modules".
const { createHash, createHmac } = process.getBuiltinModule('node:crypto');

/** One signed JSON 1.1 POST. */
export interface SignedRequest {
  readonly url: URL;
  readonly region: string;
  /** SigV4 signing name, e.g. `secretsmanager`. */
  readonly signingName: string;
  /** `X-Amz-Target`, e.g. `secretsmanager.GetSecretValue`. */
  readonly target: string;
  readonly body: string;
  readonly credentials: Credentials;
  /** Milliseconds to add to the local clock when signing (clock-skew correction). */
  readonly clockOffsetMs: number;
  readonly connectTimeoutMs: number;
  /** From sending to the end of the response body. */
  readonly timeoutMs: number;
  /** Which deadline `timeoutMs` is, for the error message. */
  readonly timeoutName: 'attempt timeout' | 'call timeout';
  /** Called once the request is written to the connection, or has failed. */
  readonly onWritten?: () => void;
  /** Sends through this client instead of `node:http`/`node:https` (the runtime's, see {@link HttpTransport}). */
  readonly transport?: HttpTransport;
}

/** A whole response; header names lower-cased. */
export interface RawResponse {
  readonly status: number;
  readonly headers: Readonly<Record<string, string | string[] | undefined>>;
  readonly body: string;
}

/** One POST for an {@link HttpTransport}. */
export interface TransportRequest {
  readonly url: URL;
  /** The request target, as signed. */
  readonly path: string;
  /** Every header but `Host` (the transport sends `url.host`, as signed) and `Content-Length`. */
  readonly headers: Readonly<Record<string, string>>;
  readonly body: string;
  /** Called once the request is written to the connection, or has failed. */
  readonly onWritten: () => void;
}

/** A POST in flight. */
export interface TransportCall {
  readonly response: Promise<RawResponse>;
  /** The call's deadline passed: drop its connection (`response` then rejects, unobserved). */
  abort(): void;
}

/**
 * An HTTP/1.1 client lent by the runtime for the calls it sends ahead of the handler: its own
 * (on `node:net` and `node:tls`), already loaded and compiled from the image's code cache, so a
 * cold start neither loads `node:http` nor runs it for the first time. It resolves with any HTTP
 * answer, and rejects on a transport failure with an error whose `code` is the socket's error
 * code (`ECONNREFUSED`, `ECONNRESET`...), as `node:http` reports it.
 */
export interface HttpTransport {
  post(request: TransportRequest): TransportCall;
}

/** A sha256 hash or HMAC as `@smithy/signature-v4` wants it (its `HashConstructor`). */
class Sha256 {
  readonly #hash: Hash | Hmac;
  constructor(secret?: string | ArrayBuffer | ArrayBufferView) {
    this.#hash = secret === undefined ? createHash('sha256') : createHmac('sha256', toBytes(secret));
  }
  update(data: string | ArrayBuffer | ArrayBufferView): void {
    this.#hash.update(toBytes(data));
  }
  digest(): Promise<Uint8Array> {
    return Promise.resolve(this.#hash.digest());
  }
}

function toBytes(data: string | ArrayBuffer | ArrayBufferView): string | Uint8Array {
  if (typeof data === 'string') return data;
  if (data instanceof ArrayBuffer) return new Uint8Array(data);
  return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
}

/** The error of a response not complete within `ms`, the deadline `name`. */
export function responseTimeout(ms: number, name: SignedRequest['timeoutName']): AwsCallError {
  return new AwsCallError('TimeoutError', `no complete response within ${Math.round(ms)} ms (${name})`);
}

/** Sent unsigned, as the SDK sends its own: names the client in CloudTrail and in the stand-ins' logs. */
export const USER_AGENT = 'custom-runtime-config (lean)';

// Loaded on the first call: a definition without AWS sources never pays for it. Bundled with
// `custom-runtime build` it is ~25 KiB; from node_modules, unbundled, it loads @smithy/core's
// CommonJS build, ~40 ms and ~17 MiB, which a static import would cost every function.
type SignerModule = typeof import('@smithy/signature-v4');
let signerModule: Promise<SignerModule> | undefined;

// Keep-alive connections, one pool per protocol; dropped by forgetConnections().
let httpAgent: HttpAgent | undefined;
let httpsAgent: HttpsAgent | undefined;

// Loaded on the first call, not at import: a definition without AWS sources never needs them.
function agentFor(url: URL): { request: typeof import('node:http').request; agent: HttpAgent | HttpsAgent } {
  if (url.protocol === 'https:') {
    const https = process.getBuiltinModule('node:https');
    httpsAgent ??= new https.Agent({ keepAlive: true });
    return { request: https.request, agent: httpsAgent };
  }
  const http = process.getBuiltinModule('node:http');
  httpAgent ??= new http.Agent({ keepAlive: true });
  return { request: http.request, agent: httpAgent };
}

/** Closes the keep-alive connections (after a SnapStart restore they point at a stale network). */
export function forgetConnections(): void {
  httpAgent?.destroy();
  httpsAgent?.destroy();
  httpAgent = undefined;
  httpsAgent = undefined;
}

/** Starts loading the signer, so it loads while the credentials are read. */
export function preloadSigner(): void {
  signerModule ??= import('@smithy/signature-v4');
}

/** Signs `input` with SigV4 (now, plus the clock offset) and sends it; resolves with any HTTP answer. */
export async function sendSigned(input: SignedRequest): Promise<RawResponse> {
  const { SignatureV4 } = await (signerModule ??= import('@smithy/signature-v4'));
  const { url } = input;
  const signer = new SignatureV4({
    credentials: signingCredentials(input.credentials),
    region: input.region,
    service: input.signingName,
    sha256: Sha256,
    applyChecksum: false,
  });
  const path = url.pathname === '' ? '/' : url.pathname;
  const signed = await signer.sign(
    {
      method: 'POST',
      protocol: url.protocol,
      hostname: url.hostname,
      ...(url.port === '' ? {} : { port: Number(url.port) }),
      path,
      query: {},
      headers: {
        host: url.host,
        'content-type': 'application/x-amz-json-1.1',
        'x-amz-target': input.target,
        'content-length': String(Buffer.byteLength(input.body)),
      },
      body: input.body,
    },
    { signingDate: new Date(Date.now() + input.clockOffsetMs) },
  );
  const headers = { ...signed.headers, 'user-agent': USER_AGENT };
  if (input.transport !== undefined) return sendThrough(input.transport, input, path, headers);
  const { request, agent } = agentFor(url);
  return new Promise<RawResponse>((resolve, reject) => {
    let settled = false;
    const fail = (error: AwsCallError): void => {
      if (settled) return;
      settled = true;
      clearTimeout(deadline);
      req.destroy();
      reject(error);
    };
    const req = request(
      // An IPv6 literal without its brackets: node:http would look `[::1]` up as a name.
      { protocol: url.protocol, hostname: url.hostname.replace(/^\[(.*)\]$/, '$1'), port: url.port, path, method: 'POST', headers, agent },
      (res: IncomingMessage) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('error', (error: NodeJS.ErrnoException) => fail(transportError(error.code, url)));
        res.on('end', () => {
          if (settled) return;
          settled = true;
          clearTimeout(deadline);
          resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString('utf8') });
        });
      },
    );
    const deadline = setTimeout(() => fail(responseTimeout(input.timeoutMs, input.timeoutName)), input.timeoutMs);
    req.on('socket', (socket: Socket) => {
      if (!socket.connecting) return; // a kept-alive connection
      const connectTimer = setTimeout(
        () => fail(new AwsCallError('TimeoutError', `could not connect within ${Math.round(input.connectTimeoutMs)} ms (connect timeout)`)),
        input.connectTimeoutMs,
      );
      socket.once(url.protocol === 'https:' ? 'secureConnect' : 'connect', () => clearTimeout(connectTimer));
      socket.once('close', () => clearTimeout(connectTimer));
    });
    req.on('error', (error: NodeJS.ErrnoException) => fail(transportError(error.code, url)));
    if (input.onWritten !== undefined) {
      const written = input.onWritten;
      req.once('finish', written);
      req.once('close', written);
    }
    req.end(input.body);
  });
}

/** {@link sendSigned} through `transport`, under the same deadline and with the same errors. */
function sendThrough(transport: HttpTransport, input: SignedRequest, path: string, signedHeaders: Record<string, string>): Promise<RawResponse> {
  const { url } = input;
  const headers: Record<string, string> = {};
  for (const name in signedHeaders) {
    const lower = name.toLowerCase();
    if (lower !== 'host' && lower !== 'content-length') headers[name] = signedHeaders[name]!;
  }
  // A callback, not an AbortSignal: the signal's first addEventListener ran about 1.4 ms of
  // Node's internals before the first request was written.
  const call = transport.post({ url, path, headers, body: input.body, onWritten: input.onWritten ?? (() => {}) });
  return new Promise<RawResponse>((resolve, reject) => {
    const deadline = setTimeout(() => {
      call.abort();
      reject(responseTimeout(input.timeoutMs, input.timeoutName));
    }, input.timeoutMs);
    call.response.then(
      (response) => {
        clearTimeout(deadline);
        resolve(response);
      },
      (error: unknown) => {
        clearTimeout(deadline);
        reject(transportError((error as { code?: unknown } | null)?.code, url));
      },
    );
  });
}

function signingCredentials(c: Credentials): { accessKeyId: string; secretAccessKey: string; sessionToken?: string } {
  const out: { accessKeyId: string; secretAccessKey: string; sessionToken?: string } = {
    accessKeyId: c.accessKeyId,
    secretAccessKey: c.secretAccessKey,
  };
  if (c.sessionToken) out.sessionToken = c.sessionToken;
  return out;
}

function transportError(errorCode: unknown, url: URL): AwsCallError {
  const code = typeof errorCode === 'string' ? errorCode : 'NetworkingError';
  // Node's messages name the host and port, never a request body.
  return new AwsCallError('Error', `${code} talking to ${url.host}`, { code });
}
