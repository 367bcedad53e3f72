/** Servers of the tests, on 127.0.0.1 only, and a port nothing listens on. */
import { once } from 'node:events';
import { connect, createServer, type AddressInfo, type Server, type Socket } from 'node:net';

/** A server started by {@link listenLocally}. */
export interface LocalServer {
  readonly port: number;
  /** TCP connections accepted so far. */
  connections(): number;
  /** Stops listening and ends the connections still open. */
  close(): Promise<void>;
}

/** Starts `server` on an ephemeral port of 127.0.0.1. */
export async function listenLocally(server: Server): Promise<LocalServer> {
  let connections = 0;
  const sockets = new Set<Socket>();
  server.on('connection', (socket: Socket) => {
    connections++;
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return {
    port: (server.address() as AddressInfo).port,
    connections: () => connections,
    async close() {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** A port of 127.0.0.1 that nothing listens on (free a moment ago): connecting is refused. */
export async function closedPort(): Promise<number> {
  const probe = await listenLocally(createServer());
  await probe.close();
  return probe.port;
}

/** A relay started by {@link startTcpRelay}. */
export interface TcpRelay extends LocalServer {
  /** `127.0.0.1:<port>`, e.g. for `AWS_LAMBDA_RUNTIME_API`. */
  readonly address: string;
}

/**
 * A TCP relay on 127.0.0.1 to `target` (`host:port`): shows the connections a client opens,
 * without changing a byte of what it sends or receives.
 */
export async function startTcpRelay(target: string): Promise<TcpRelay> {
  const at = target.lastIndexOf(':');
  const host = target.slice(0, at);
  const port = Number(target.slice(at + 1));
  const relay = await listenLocally(
    createServer((client) => {
      const upstream = connect(port, host);
      for (const [from, to] of [
        [client, upstream],
        [upstream, client],
      ] as const) {
        from.pipe(to);
        from.on('error', () => to.destroy());
        from.on('close', () => to.destroy());
      }
    }),
  );
  return { ...relay, address: `127.0.0.1:${relay.port}` };
}
