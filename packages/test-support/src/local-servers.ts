/** Servers of the tests, on 127.0.0.1 only, and a port nothing listens on. */
import { once } from 'node:events';
import { createServer, type AddressInfo, type Server, type Socket } from 'node:net';

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
