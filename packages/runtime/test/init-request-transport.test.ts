/**
 * The HTTP client the runtime lends the sender of the calls sent ahead (src/init-request-transport.ts).
 * Over TLS with a trusted certificate it is driven end to end, signatures checked by the
 * stand-ins, in packages/config/test/init-requests.bootstrap.test.ts.
 */
import { once } from 'node:events';
import http from 'node:http';
import net from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { closedPort, listenLocally, startTlsEndpoint } from '@custom-runtime/test-support';
import { connectionTarget, lendTransport } from '../src/init-request-transport.js';

const cleanups: Array<() => unknown> = [];
afterEach(async () => {
  for (const fn of cleanups.splice(0).reverse()) await fn();
});

async function listen(server: net.Server): Promise<number> {
  const started = await listenLocally(server);
  cleanups.push(() => started.close());
  return started.port;
}

function post(url: string, options: { onWritten?: () => void } = {}) {
  const lent = lendTransport();
  cleanups.push(() => lent.close());
  const target = new URL(url);
  const call = lent.transport.post({
    url: target,
    path: target.pathname,
    headers: { 'content-type': 'application/x-amz-json-1.1', 'x-amz-target': 'secretsmanager.GetSecretValue' },
    body: '{"SecretId":"s"}',
    onWritten: options.onWritten ?? (() => {}),
  });
  return { lent, call, response: call.response };
}

async function failure(promise: Promise<unknown>): Promise<Error & { code?: unknown }> {
  const err = await promise.then(
    () => {
      throw new Error('expected a rejection');
    },
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(Error);
  return err as Error & { code?: unknown };
}

describe('where a call connects, and the Host it sends', () => {
  // SigV4 signs `host: url.host` (packages/config src/aws/signed-request.ts): the URL's host,
  // without the port when it is the scheme's default, as every real AWS endpoint's is.
  it('a regional endpoint: port 443 over TLS, Host without the port', () => {
    expect(connectionTarget(new URL('https://secretsmanager.eu-west-1.amazonaws.com'))).toEqual({
      host: 'secretsmanager.eu-west-1.amazonaws.com',
      port: 443,
      tls: true,
      hostHeader: 'secretsmanager.eu-west-1.amazonaws.com',
    });
    expect(connectionTarget(new URL('https://kms.eu-west-1.amazonaws.com:443/'))).toMatchObject({ port: 443, hostHeader: 'kms.eu-west-1.amazonaws.com' });
    expect(connectionTarget(new URL('http://localhost/'))).toEqual({ host: 'localhost', port: 80, tls: false, hostHeader: 'localhost' });
  });

  it('another port, and an IPv6 literal: the socket gets the bare address, Host keeps the brackets', () => {
    expect(connectionTarget(new URL('https://vpce.example:8443/x'))).toEqual({ host: 'vpce.example', port: 8443, tls: true, hostHeader: 'vpce.example:8443' });
    expect(connectionTarget(new URL('http://[::1]:4566'))).toEqual({ host: '::1', port: 4566, tls: false, hostHeader: '[::1]:4566' });
  });
});

describe('the transport lent to the sender', () => {
  it('posts the signed headers with the URL\'s host as Host and resolves with the whole answer', async () => {
    const seen: Array<{ url: string | undefined; headers: http.IncomingHttpHeaders; body: string }> = [];
    const port = await listen(
      http.createServer((req, res) => {
        let body = '';
        req.on('data', (c: Buffer) => (body += c.toString()));
        req.on('end', () => {
          seen.push({ url: req.url, headers: req.headers, body });
          res.writeHead(400, { 'x-amzn-requestid': 'r-1', 'x-amzn-errortype': 'ResourceNotFoundException' }).end('{"message":"no"}');
        });
      }),
    );
    let written = 0;
    const { response } = post(`http://127.0.0.1:${port}/`, { onWritten: () => written++ });
    const answer = await response;
    expect(answer).toEqual({ status: 400, headers: expect.objectContaining({ 'x-amzn-requestid': 'r-1', 'x-amzn-errortype': 'ResourceNotFoundException' }), body: '{"message":"no"}' });
    expect(seen).toEqual([
      {
        url: '/',
        headers: expect.objectContaining({ host: `127.0.0.1:${port}`, 'content-length': '16', 'x-amz-target': 'secretsmanager.GetSecretValue' }),
        body: '{"SecretId":"s"}',
      },
    ]);
    expect(written).toBe(1);
  });

  it('verifies the certificate of an https endpoint, as node:https does: an untrusted one is refused with its code', async () => {
    const plain = await listen(http.createServer((_req, res) => res.end('{}')));
    const endpoint = await startTlsEndpoint(`http://127.0.0.1:${plain}`);
    cleanups.push(() => endpoint.close());
    for (const url of [endpoint.url, endpoint.addressUrl]) {
      const err = await failure(post(url).response);
      expect(err.code, url).toMatch(/^(SELF_SIGNED_CERT_IN_CHAIN|DEPTH_ZERO_SELF_SIGNED_CERT)$/);
    }
  });

  it('reports transport failures with the codes the lean path retries on: refused, and cut before the answer ended', async () => {
    expect((await failure(post(`http://127.0.0.1:${await closedPort()}/`).response)).code).toBe('ECONNREFUSED');
    const cut = await listen(
      net.createServer((socket) => {
        socket.on('data', () => socket.end('HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n{"Sec'));
      }),
    );
    expect((await failure(post(`http://127.0.0.1:${cut}/`).response)).code).toBe('ECONNRESET');
  });

  it('refuses an answer larger than any the calls sent ahead get, before buffering it', async () => {
    const port = await listen(
      net.createServer((socket) => {
        socket.on('data', () => socket.write(`HTTP/1.1 200 OK\r\nContent-Length: ${2 ** 32}\r\n\r\n{"SecretValues":[`));
      }),
    );
    const err = await failure(post(`http://127.0.0.1:${port}/`).response);
    expect(err.code).toBe('RESPONSE_TOO_LARGE');
    expect(err.message).toMatch(/larger than 16777216 bytes/);
  });

  it('drops the connection when the call is aborted (its deadline), and close() drops those still open', async () => {
    let connections = 0;
    let closed = 0;
    const port = await listen(
      net.createServer((socket) => {
        connections++;
        socket.on('close', () => closed++);
        socket.resume(); // never answers
      }),
    );
    const aborted = post(`http://127.0.0.1:${port}/`);
    const open = post(`http://127.0.0.1:${port}/`);
    while (connections < 2) await new Promise((r) => setTimeout(r, 2));
    aborted.call.abort();
    expect((await failure(aborted.response)).message).toMatch(/closed/);
    open.lent.close();
    await failure(open.response);
    while (closed < 2) await new Promise((r) => setTimeout(r, 2));
    expect(closed).toBe(2);
  });
});
