/**
 * An HTTPS endpoint in front of a local stand-in, as AWS endpoints are: TLS terminated on
 * 127.0.0.1 with a certificate made for the test (Node can sign but not issue certificates, so
 * it is encoded here in DER by hand), bytes passed through to the stand-in unchanged.
 */
import { generateKeyPairSync, randomBytes, sign, type KeyObject } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { connect, type AddressInfo, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createServer } from 'node:tls';

/** What {@link startTlsEndpoint} started. */
export interface TlsEndpoint {
  /** `https://localhost:<port>` (a name, as AWS endpoints are). */
  readonly url: string;
  /** `https://127.0.0.1:<port>`: the same endpoint by address. */
  readonly addressUrl: string;
  /** The certificate in PEM, trusted by a process started with `NODE_EXTRA_CA_CERTS` set to this file. */
  readonly caFile: string;
  /** How many TLS handshakes completed. */
  handshakes(): number;
  /** The SNI name of each completed handshake (`false`: none sent). */
  servernames(): ReadonlyArray<string | false>;
  /** The ALPN protocols each client offered that offered any (`node:https` offers none by default). */
  alpnOffers(): ReadonlyArray<readonly string[]>;
  close(): Promise<void>;
}

/** What the endpoint's certificate is for: `localhost` and 127.0.0.1 unless given. */
export interface TlsEndpointOptions {
  readonly dnsNames?: readonly string[];
  readonly ipAddresses?: readonly string[];
}

function der(tag: number, ...content: Buffer[]): Buffer {
  const body = Buffer.concat(content);
  const n = body.length;
  const length = n < 0x80 ? [n] : n < 0x100 ? [0x81, n] : [0x82, n >> 8, n & 0xff];
  return Buffer.concat([Buffer.from([tag, ...length]), body]);
}

const sequence = (...parts: Buffer[]): Buffer => der(0x30, ...parts);

function objectId(dotted: string): Buffer {
  const [first = 0, second = 0, ...rest] = dotted.split('.').map(Number);
  const bytes = [40 * first + second];
  for (const arc of rest) {
    const groups = [arc & 0x7f];
    for (let v = arc >> 7; v > 0; v >>= 7) groups.unshift((v & 0x7f) | 0x80);
    bytes.push(...groups);
  }
  return der(0x06, Buffer.from(bytes));
}

function utcTime(date: Date): Buffer {
  const iso = date.toISOString(); // YYYY-MM-DDTHH:MM:SS.sssZ
  return der(0x17, Buffer.from(`${iso.slice(2, 4)}${iso.slice(5, 7)}${iso.slice(8, 10)}${iso.slice(11, 13)}${iso.slice(14, 16)}${iso.slice(17, 19)}Z`));
}

/** A self-signed CA certificate (RFC 5280) for the given names and addresses, valid for a day. */
function selfSigned(publicKey: KeyObject, privateKey: KeyObject, dnsNames: readonly string[], ipAddresses: readonly string[]): string {
  const ecdsaWithSha256 = sequence(objectId('1.2.840.10045.4.3.2'));
  const serial = randomBytes(8);
  serial[0] = (serial[0]! & 0x3f) | 0x40; // positive, and minimal as DER wants it
  // A name of its own: certificates trusted together are told apart by their subject.
  const name = sequence(der(0x31, sequence(objectId('2.5.4.3'), der(0x0c, Buffer.from(`test endpoint ${serial.toString('hex')}`)))));
  const now = Date.now();
  const altNames = sequence(
    ...dnsNames.map((name) => der(0x82, Buffer.from(name))),
    ...ipAddresses.map((address) => der(0x87, Buffer.from(address.split('.').map(Number)))),
  );
  const extensions = der(
    0xa3,
    sequence(
      sequence(objectId('2.5.29.17'), der(0x04, altNames)),
      sequence(objectId('2.5.29.19'), der(0x01, Buffer.from([0xff])), der(0x04, sequence(der(0x01, Buffer.from([0xff]))))),
    ),
  );
  const tbs = sequence(
    der(0xa0, der(0x02, Buffer.from([2]))), // v3
    der(0x02, serial),
    ecdsaWithSha256,
    name,
    sequence(utcTime(new Date(now - 60_000)), utcTime(new Date(now + 86_400_000))),
    name,
    publicKey.export({ type: 'spki', format: 'der' }),
    extensions,
  );
  const signature = sign('sha256', tbs, privateKey);
  const certificate = sequence(tbs, ecdsaWithSha256, der(0x03, Buffer.from([0]), signature));
  return `-----BEGIN CERTIFICATE-----\n${certificate.toString('base64').match(/.{1,64}/g)!.join('\n')}\n-----END CERTIFICATE-----\n`;
}

/** Starts an HTTPS endpoint on 127.0.0.1 that passes every connection through to `target`. */
export async function startTlsEndpoint(target: string, options: TlsEndpointOptions = {}): Promise<TlsEndpoint> {
  const { publicKey, privateKey } = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
  const cert = selfSigned(publicKey, privateKey, options.dnsNames ?? ['localhost'], options.ipAddresses ?? ['127.0.0.1']);
  const dir = await mkdtemp(path.join(tmpdir(), 'tls-endpoint-'));
  const caFile = path.join(dir, 'ca.pem');
  await writeFile(caFile, cert);
  const upstream = new URL(target);
  const servernames: Array<string | false> = [];
  const alpnOffers: Array<readonly string[]> = [];
  const open = new Set<Socket>();
  const ALPNCallback = ({ protocols }: { protocols: string[] }): string | undefined => {
    alpnOffers.push(protocols);
    return protocols.includes('http/1.1') ? 'http/1.1' : undefined;
  };
  const server = createServer({ key: privateKey.export({ type: 'pkcs8', format: 'pem' }), cert, ALPNCallback }, (socket) => {
    servernames.push(socket.servername ?? false);
    const up = connect({ host: upstream.hostname, port: Number(upstream.port) });
    for (const s of [socket, up]) {
      open.add(s);
      s.once('close', () => open.delete(s));
    }
    socket.pipe(up).pipe(socket);
    socket.on('error', () => up.destroy());
    up.on('error', () => socket.destroy());
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `https://localhost:${port}`,
    addressUrl: `https://127.0.0.1:${port}`,
    caFile,
    handshakes: () => servernames.length,
    servernames: () => [...servernames],
    alpnOffers: () => [...alpnOffers],
    async close() {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      for (const socket of open) socket.destroy();
      await closed;
      await rm(dir, { recursive: true, force: true });
    },
  };
}
