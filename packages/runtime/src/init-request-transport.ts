/**
 * The HTTP client the runtime lends the config package's sender for the calls it sends ahead of
 * the handler (init-requests.ts): the runtime's own HTTP/1.1 client (http-client.ts), on
 * `node:net`, or `node:tls` for `https:`. Through `node:http` those calls cost a cold start 3 to
 * 4 ms more (alternating spawns, Node 20 and 22): loading `node:http` and running its request
 * machinery for the first time, while this client is compiled from the image's code cache and
 * carries `/next` later anyway.
 */
import type { HttpTransport, RawResponse, TransportCall, TransportRequest } from '@custom-runtime/config/init-request-sender';
import type { Socket } from 'node:net';
import { HttpClientError, HttpConnection } from './http-client.js';

/** A transport and the connections it has open. */
export interface LentTransport {
  readonly transport: HttpTransport;
  /** Drops the connections still waiting for an answer (init is over: nobody will take it). */
  close(): void;
}

// Far above any answer of the calls sent ahead (BatchGetSecretValue: 20 secrets of at most 64 KiB).
const MAX_ANSWER_BYTES = 16 * 2 ** 20;

/** Where a connection for `url` goes and the Host header it sends. */
export interface ConnectionTarget {
  /** A name or an address; an IPv6 literal without its brackets, as a socket wants it. */
  readonly host: string;
  readonly port: number;
  readonly tls: boolean;
  /** `url.host`, as SigV4 signs it: no port when it is the scheme's default. */
  readonly hostHeader: string;
}

/** The connection `url` needs. */
export function connectionTarget(url: URL): ConnectionTarget {
  const tls = url.protocol === 'https:';
  return {
    host: url.hostname.startsWith('[') ? url.hostname.slice(1, -1) : url.hostname,
    port: url.port === '' ? (tls ? 443 : 80) : Number(url.port),
    tls,
    hostHeader: url.host,
  };
}

/** A connection per call: the sender makes one call per service. */
export function lendTransport(): LentTransport {
  const open = new Set<HttpConnection>();
  const post = ({ url, path, headers, body, onWritten }: TransportRequest): TransportCall => {
    const target = connectionTarget(url);
    const connection = new HttpConnection(target.host, target.port, {
      hostHeader: target.hostHeader,
      maxBodyBytes: MAX_ANSWER_BYTES,
      ...(target.tls ? { connect: tlsConnect } : {}),
    });
    open.add(connection);
    const response = connection.request({ method: 'POST', path, headers, body, onWritten }).then(
      (answer): RawResponse => ({ status: answer.status, headers: answer.headers, body: answer.body.toString('utf8') }),
      (err: unknown) => {
        throw transportFailure(err);
      },
    );
    const drop = (): void => {
      open.delete(connection);
      connection.close();
    };
    // Answered, the connection stays, idle and unreferenced, until the server closes it: a
    // socket's first destroy creates process.stderr (Node's net.js checks against it), about
    // 0.4 ms that would land between the answers and the first invocation.
    response.then(() => open.delete(connection), drop);
    return { response, abort: drop };
  };
  return {
    transport: { post },
    close() {
      for (const connection of open) connection.close();
      open.clear();
    },
  };
}

function tlsConnect(host: string, port: number): Socket {
  const { connect } = process.getBuiltinModule('node:tls');
  // SNI takes a name, never an address (RFC 6066, section 3); the certificate is checked either way.
  const sni = process.getBuiltinModule('node:net').isIP(host) === 0 ? { servername: host } : {};
  const socket = connect({ host, port, ...sni, ALPNProtocols: ['http/1.1'] });
  socket.setNoDelay(true);
  return socket;
}

/**
 * The error as `node:http` would report it, which is what the lean path's retries read: the
 * socket's code, or `ECONNRESET` for a connection that ended before its answer did.
 */
function transportFailure(err: unknown): Error {
  if (!(err instanceof HttpClientError)) return err instanceof Error ? err : new Error(String(err));
  const causeCode = (err.cause as { code?: unknown } | undefined)?.code;
  const code = typeof causeCode === 'string' ? causeCode : err.code === 'CONNECTION_LOST' ? 'ECONNRESET' : err.code;
  return Object.assign(new Error(err.message, { cause: err }), { code });
}
