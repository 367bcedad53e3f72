import { randomBytes } from 'node:crypto';
import http from 'node:http';
import net from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { closedPort, listenLocally, type LocalServer } from '@custom-runtime/test-support';
import { HttpClientError, HttpConnection, type HttpResponse } from '../src/http-client.js';

const cleanups: Array<() => unknown> = [];
afterEach(async () => {
  for (const fn of cleanups.splice(0).reverse()) await fn();
});

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

async function listen(server: net.Server): Promise<LocalServer> {
  const started = await listenLocally(server);
  cleanups.push(() => started.close());
  return started;
}

function httpServer(handler: http.RequestListener): Promise<LocalServer> {
  return listen(http.createServer(handler));
}

/** A raw TCP server: `onRequest` is called once per request head received (bodiless requests). */
function rawServer(onRequest: (socket: net.Socket, index: number, head: string) => void): Promise<LocalServer> {
  return listen(
    net.createServer((socket) => {
      socket.setNoDelay(true);
      let buffered = '';
      let index = 0;
      socket.on('error', () => {});
      socket.on('data', (chunk) => {
        buffered += chunk.toString('latin1');
        let end: number;
        while ((end = buffered.indexOf('\r\n\r\n')) >= 0) {
          const head = buffered.slice(0, end);
          buffered = buffered.slice(end + 4);
          onRequest(socket, index++, head);
        }
      });
    }),
  );
}

/** A server whose every connection answers its first request and drops the next one unanswered. */
function answersOnceThenDrops(): Promise<LocalServer> {
  return rawServer((socket, i) => {
    if (i === 0) socket.write('HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok');
    else socket.destroy();
  });
}

function client(port: number): HttpConnection {
  const c = new HttpConnection('127.0.0.1', port);
  cleanups.push(() => c.close());
  return c;
}

function readBody(req: http.IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const parts: Buffer[] = [];
    req.on('data', (c: Buffer) => parts.push(c));
    req.on('end', () => resolve(Buffer.concat(parts)));
    req.on('error', reject);
  });
}

async function rejection(p: Promise<unknown>): Promise<HttpClientError> {
  const err = await p.then(
    () => {
      throw new Error('expected a rejection');
    },
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(HttpClientError);
  return err as HttpClientError;
}

const text = (res: HttpResponse): string => res.body.toString('utf8');

describe('response framing', () => {
  it('reads a Content-Length body with lower-cased, joined headers', async () => {
    const { port } = await httpServer((req, res) => {
      res.setHeader('X-Multi', ['a', 'b']);
      res.setHeader('Content-Type', 'text/plain');
      res.end(`you asked ${req.method} ${req.url}`);
    });
    const res = await client(port).request({ method: 'GET', path: '/x?y=1' });
    expect(res.status).toBe(200);
    expect(res.headers['content-type']).toBe('text/plain');
    expect(res.headers['x-multi']).toBe('a, b');
    expect(res.headers['content-length']).toBe(String(res.body.length));
    expect(text(res)).toBe('you asked GET /x?y=1');
  });

  it('reads a chunked body written in pieces', async () => {
    const { port } = await httpServer(async (_req, res) => {
      res.write('one ');
      await sleep(5);
      res.write('two ');
      res.end('three');
    });
    const res = await client(port).request({ method: 'GET', path: '/' });
    expect(res.headers['transfer-encoding']).toBe('chunked');
    expect(text(res)).toBe('one two three');
  });

  it('reads chunk extensions and trailers', async () => {
    const { port } = await rawServer((socket) => {
      socket.write(
        'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nTrailer: X-Sum\r\n\r\n' +
          '5;name=value\r\nhello\r\n' +
          '6 ; ext\r\n world\r\n' +
          'A\r\n0123456789\r\n' +
          '0\r\nX-Sum: 42\r\nX-Other:  two  \r\n\r\n',
      );
    });
    const res = await client(port).request({ method: 'GET', path: '/' });
    expect(text(res)).toBe('hello world0123456789');
    expect({ ...res.trailers }).toEqual({ 'x-sum': '42', 'x-other': 'two' });
  });

  it('parses responses delivered one byte per packet', async () => {
    const responses = [
      'HTTP/1.1 200 OK\r\nContent-Length: 11\r\nX-A: b\r\n\r\nhello world',
      'HTTP/1.1 201 Created\r\nTransfer-Encoding: chunked\r\n\r\n3;x=y\r\nabc\r\n2\r\nde\r\n0\r\nX-T: 1\r\n\r\n',
      'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n1\r\nz\r\n0\r\n\r\n',
    ];
    const { port, connections } = await rawServer((socket, i) => {
      void (async () => {
        for (const byte of Buffer.from(responses[i] ?? '', 'latin1')) {
          socket.write(Buffer.of(byte));
          await sleep(1);
        }
      })();
    });
    const c = client(port);
    const a = await c.request({ method: 'GET', path: '/' });
    expect([a.status, a.headers['x-a'], text(a)]).toEqual([200, 'b', 'hello world']);
    const b = await c.request({ method: 'GET', path: '/' });
    expect([b.status, text(b), b.trailers['x-t']]).toEqual([201, 'abcde', '1']);
    const d = await c.request({ method: 'GET', path: '/' });
    expect(text(d)).toBe('z');
    expect(connections()).toBe(1);
  });

  it('parses two responses arriving in one packet', async () => {
    const { port } = await rawServer((socket, i) => {
      if (i === 0) {
        socket.write(
          'HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nfirst' +
            'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n6\r\nsecond\r\n0\r\n\r\n',
        );
      }
    });
    const c = client(port);
    expect(text(await c.request({ method: 'GET', path: '/1' }))).toBe('first');
    expect(text(await c.request({ method: 'GET', path: '/2' }))).toBe('second');
  });

  it('skips an informational response sent in the same packet as the final one', async () => {
    const { port } = await rawServer((socket) => {
      socket.write('HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok');
    });
    const res = await client(port).request({ method: 'POST', path: '/', body: '' });
    expect([res.status, text(res)]).toEqual([200, 'ok']);
  });

  it('reads a body delimited by the end of the connection, then reconnects', async () => {
    const { port, connections } = await rawServer((socket, i) => {
      socket.write(`HTTP/1.1 200 OK\r\nConnection: close\r\n\r\nuntil eof ${i}`);
      setTimeout(() => socket.end(), 10);
    });
    const c = client(port);
    expect(text(await c.request({ method: 'GET', path: '/' }))).toBe('until eof 0');
    expect(text(await c.request({ method: 'GET', path: '/' }))).toBe('until eof 0');
    expect(connections()).toBe(2);
  });

  it('does not reuse a connection the server marked Connection: close', async () => {
    const { port, connections } = await httpServer((_req, res) => {
      res.setHeader('Connection', 'close');
      res.end('bye');
    });
    const c = client(port);
    for (let i = 0; i < 3; i++) expect(text(await c.request({ method: 'GET', path: '/' }))).toBe('bye');
    expect(connections()).toBe(3);
  });

  it('expects no body for HEAD, 204 and 304', async () => {
    const { port, connections } = await httpServer((req, res) => {
      if (req.url === '/204') res.writeHead(204).end();
      else if (req.url === '/304') res.writeHead(304).end();
      else res.writeHead(200, { 'Content-Length': '1000' }).end(req.method === 'HEAD' ? undefined : 'x'.repeat(1000));
    });
    const c = client(port);
    const head = await c.request({ method: 'HEAD', path: '/' });
    expect([head.status, head.headers['content-length'], head.body.length]).toEqual([200, '1000', 0]);
    expect((await c.request({ method: 'GET', path: '/204' })).status).toBe(204);
    expect((await c.request({ method: 'GET', path: '/304' })).status).toBe(304);
    expect((await c.request({ method: 'GET', path: '/' })).body.length).toBe(1000);
    expect(connections()).toBe(1);
  });

  it('carries 5 MiB both ways', async () => {
    const payload = randomBytes(5 * 1024 * 1024);
    const { port } = await httpServer(async (req, res) => {
      const body = await readBody(req);
      res.setHeader('X-Received', String(body.length));
      if (req.url === '/chunked') {
        for (let off = 0; off < body.length; off += 100_000) res.write(body.subarray(off, off + 100_000));
        res.end();
      } else {
        res.end(body);
      }
    });
    const c = client(port);
    for (const path of ['/length', '/chunked']) {
      const res = await c.request({ method: 'POST', path, body: payload });
      expect(res.headers['x-received']).toBe(String(payload.length));
      expect(res.body.equals(payload)).toBe(true);
    }
    const big = 'é'.repeat(2 * 1024 * 1024);
    const res = await c.request({ method: 'POST', path: '/length', body: big });
    expect(res.headers['x-received']).toBe(String(Buffer.byteLength(big)));
    expect(text(res)).toBe(big);
  });
});

describe('requests', () => {
  it('sends method, path, headers, Host and the body with a Content-Length', async () => {
    const seen: Array<{ method: string | undefined; url: string | undefined; headers: http.IncomingHttpHeaders; body: string }> = [];
    const { port } = await httpServer(async (req, res) => {
      seen.push({ method: req.method, url: req.url, headers: req.headers, body: (await readBody(req)).toString() });
      res.end();
    });
    const c = client(port);
    await c.request({ method: 'POST', path: '/a/b', headers: { 'X-Thing': 'v 1' }, body: 'héllo' });
    await c.request({ method: 'POST', path: '/empty' });
    await c.request({ method: 'GET', path: '/get' });
    expect(seen[0]).toMatchObject({ method: 'POST', url: '/a/b', body: 'héllo' });
    expect(seen[0]?.headers).toMatchObject({ host: `127.0.0.1:${port}`, 'x-thing': 'v 1', 'content-length': '6' });
    expect(seen[1]?.headers['content-length']).toBe('0');
    expect(seen[2]?.headers['content-length']).toBeUndefined();
    expect(seen[2]?.headers['transfer-encoding']).toBeUndefined();
  });

  it('reads header and trailer values as UTF-8 and sends header values as UTF-8', async () => {
    const utf8 = (text: string): string => Buffer.from(text, 'utf8').toString('latin1');
    let received = '';
    const { port } = await rawServer((socket, _index, head) => {
      received = head;
      socket.write(
        `HTTP/1.1 200 OK\r\nX-Context: ${utf8('{"name":"Café ⚡"}')}\r\nTransfer-Encoding: chunked\r\n\r\n` +
          `2\r\nok\r\n0\r\nX-Trailer: ${utf8('naïve')}\r\n\r\n`,
        'latin1',
      );
    });
    const res = await client(port).request({ method: 'GET', path: '/', headers: { 'X-Echo': 'Ünïcödé ⚡' } });
    expect(res.headers['x-context']).toBe('{"name":"Café ⚡"}');
    expect(res.trailers['x-trailer']).toBe('naïve');
    expect(received).toContain(`X-Echo: ${utf8('Ünïcödé ⚡')}`);
  });

  it('refuses header values, names and paths that would break the message', async () => {
    const c = new HttpConnection('127.0.0.1', 1);
    await expect(c.request({ method: 'GET', path: '/', headers: { 'X-A': 'a\r\nX-B: b' } })).rejects.toThrow(TypeError);
    await expect(c.request({ method: 'GET', path: '/', headers: { 'X A': 'a' } })).rejects.toThrow(TypeError);
    await expect(c.request({ method: 'GET', path: '/', headers: { 'content-length': '1' } })).rejects.toThrow(TypeError);
    await expect(c.request({ method: 'GET', path: '/', headers: { 'X-A': 'a\x01b' } })).rejects.toThrow(TypeError);
    await expect(c.request({ method: 'GET', path: '/', headers: { 'X-A': 'a\0b' } })).rejects.toThrow(TypeError);
    // U+FFFD is what bytes that were not UTF-8 decode to: sending it would not echo them.
    await expect(c.request({ method: 'GET', path: '/', headers: { 'X-A': 'a\ufffdb' } })).rejects.toThrow(TypeError);
    await expect(c.request({ method: 'GET', path: '/a b' })).rejects.toThrow(TypeError);
    await expect(c.request({ method: 'GET', path: '/café' })).rejects.toThrow(TypeError);
    await expect(c.request({ method: 'GET', path: '/\n' })).rejects.toThrow(TypeError);
    expect(() => c.streamRequest({ method: 'POST', path: '/', trailers: ['bad name'] })).toThrow(TypeError);
    c.close();
  });

  it('rejects a second request while one is in flight', async () => {
    const { port } = await httpServer(async (_req, res) => {
      await sleep(20);
      res.end('done');
    });
    const c = client(port);
    const first = c.request({ method: 'GET', path: '/' });
    expect((await rejection(c.request({ method: 'GET', path: '/' }))).code).toBe('BUSY');
    expect(text(await first)).toBe('done');
    expect(text(await c.request({ method: 'GET', path: '/' }))).toBe('done');
  });

  it('close() rejects a request in flight (e.g. a long poll) and later ones', async () => {
    const { port } = await httpServer(() => {
      // never answers
    });
    const c = client(port);
    const pending = c.request({ method: 'GET', path: '/next' });
    await sleep(20);
    c.close();
    expect((await rejection(pending)).code).toBe('CLOSED');
    expect((await rejection(c.request({ method: 'GET', path: '/' }))).code).toBe('CLOSED');
  });
});

describe('connection options', () => {
  it('sends the Host header it is given (a URL\'s host omits a default port, as SigV4 signs it)', async () => {
    const hosts: Array<string | undefined> = [];
    const { port } = await httpServer((req, res) => {
      hosts.push(req.headers.host);
      res.end();
    });
    const c = new HttpConnection('127.0.0.1', port, { hostHeader: 'secretsmanager.eu-west-1.amazonaws.com' });
    cleanups.push(() => c.close());
    await c.request({ method: 'POST', path: '/', body: '{}' });
    expect(hosts).toEqual(['secretsmanager.eu-west-1.amazonaws.com']);
    expect(() => new HttpConnection('127.0.0.1', port, { hostHeader: 'a\r\nX-Injected: 1' })).toThrow(/Host header contains a control character/);
  });

  it('opens its connections with the connect function it is given (node:tls for https)', async () => {
    const { port } = await rawServer((socket) => socket.write('HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok'));
    const opened: Array<[string, number]> = [];
    const c = new HttpConnection('127.0.0.1', port, {
      connect: (host, p) => {
        opened.push([host, p]);
        return net.connect({ host, port: p });
      },
    });
    cleanups.push(() => c.close());
    expect(text(await c.request({ method: 'GET', path: '/' }))).toBe('ok');
    expect(opened).toEqual([['127.0.0.1', port]]);
  });

  it('calls onWritten once the request is on the wire, before its answer, and also when the connection fails', async () => {
    const events: string[] = [];
    let answer!: () => void;
    const { port } = await rawServer((socket) => {
      events.push('received');
      answer = () => socket.write('HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n');
    });
    const c = client(port);
    const response = c.request({ method: 'GET', path: '/', onWritten: () => events.push('written') });
    while (!events.includes('received')) await sleep(1);
    expect(events).toEqual(['written', 'received']);
    answer();
    await response;

    let written = 0;
    await rejection(client(await closedPort()).request({ method: 'POST', path: '/', body: 'x', onWritten: () => written++ }));
    // Node calls a write's callback when the socket closes, just after the error that rejects.
    await sleep(20);
    expect(written).toBe(1);
  });
});

describe('a limit on the response body (maxBodyBytes)', () => {
  function limited(port: number, maxBodyBytes: number): HttpConnection {
    const c = new HttpConnection('127.0.0.1', port, { maxBodyBytes });
    cleanups.push(() => c.close());
    return c;
  }

  it('takes a body of the limit exactly, framed by Content-Length, chunks or the end of the connection', async () => {
    const bodies = ['HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\nabcd', 'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nab\r\n2\r\ncd\r\n0\r\n\r\n'];
    const { port } = await rawServer((socket, index) => socket.write(bodies[index] ?? ''));
    const c = limited(port, 4);
    expect(text(await c.request({ method: 'GET', path: '/' }))).toBe('abcd');
    expect(text(await c.request({ method: 'GET', path: '/' }))).toBe('abcd');
    const eof = await rawServer((socket) => socket.end('HTTP/1.1 200 OK\r\n\r\nabcd'));
    expect(text(await limited(eof.port, 4).request({ method: 'GET', path: '/' }))).toBe('abcd');
  });

  it('rejects a longer one with RESPONSE_TOO_LARGE, whichever the framing, and drops the connection', async () => {
    const framings = [
      `HTTP/1.1 200 OK\r\nContent-Length: ${2 ** 20}\r\n\r\nab`,
      'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n3\r\ndef\r\n',
      'HTTP/1.1 200 OK\r\nConnection: close\r\n\r\nabcdef',
    ];
    for (const response of framings) {
      let connections = 0;
      const { port } = await rawServer((socket) => {
        connections++;
        socket.write(response);
      });
      const c = limited(port, 4);
      const err = await rejection(c.request({ method: 'GET', path: '/' }));
      expect(err.code, response).toBe('RESPONSE_TOO_LARGE');
      expect(err.message).toBe('the response body is larger than 4 bytes');
      await rejection(c.request({ method: 'GET', path: '/' }));
      expect(connections, response).toBe(2);
    }
  });
});

describe('connections', () => {
  it('reuses one keep-alive connection for many requests', async () => {
    const { port, connections } = await httpServer(async (req, res) => res.end(await readBody(req)));
    const c = client(port);
    for (let i = 0; i < 100; i++) {
      expect(text(await c.request({ method: 'POST', path: '/', body: `n${i}` }))).toBe(`n${i}`);
    }
    expect(connections()).toBe(1);
  });

  it('reconnects after the server closed an idle keep-alive connection', async () => {
    // Node's own keepAliveTimeout gets a 1 s grace period; close the idle socket directly.
    const { port, connections } = await httpServer((req, res) => {
      res.on('finish', () => setTimeout(() => req.socket.end(), 10));
      res.end('ok');
    });
    const c = client(port);
    expect(text(await c.request({ method: 'GET', path: '/' }))).toBe('ok');
    await sleep(100);
    expect(text(await c.request({ method: 'GET', path: '/' }))).toBe('ok');
    expect(connections()).toBe(2);
  });

  it('retries once on a fresh connection when a reused one fails before any response byte', async () => {
    // Each connection answers its first request and drops the next one unanswered: the
    // keep-alive race, where the server closes as the request is on its way.
    const { port, connections } = await answersOnceThenDrops();
    const c = client(port);
    expect(text(await c.request({ method: 'POST', path: '/', body: 'a' }))).toBe('ok');
    expect(text(await c.request({ method: 'POST', path: '/', body: 'b' }))).toBe('ok');
    expect(connections()).toBe(2);
  });

  it('retries on a reset reused connection (ECONNRESET)', async () => {
    const { port, connections } = await rawServer((socket, i) => {
      if (i === 0) socket.write('HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok');
      else socket.resetAndDestroy();
    });
    const c = client(port);
    await c.request({ method: 'GET', path: '/' });
    expect(text(await c.request({ method: 'GET', path: '/' }))).toBe('ok');
    expect(connections()).toBe(2);
  });

  it('does not retry more than once: the fresh connection failing rejects', async () => {
    let accepted = 0;
    const { port, connections } = await rawServer((socket) => {
      if (accepted++ === 0) socket.write('HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok');
      else socket.destroy();
    });
    const c = client(port);
    await c.request({ method: 'GET', path: '/' });
    const err = await rejection(c.request({ method: 'GET', path: '/' }));
    expect(err.code).toBe('CONNECTION_LOST');
    expect(connections()).toBe(2);
  });

  it('does not retry a request on a fresh connection', async () => {
    const { port, connections } = await rawServer((socket) => socket.destroy());
    const err = await rejection(client(port).request({ method: 'GET', path: '/' }));
    expect(err.code).toBe('CONNECTION_LOST');
    expect(connections()).toBe(1);
  });

  it('does not retry once response bytes have arrived', async () => {
    const { port, connections } = await rawServer((socket, i) => {
      if (i === 0) socket.write('HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok');
      else socket.end('HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nshort');
    });
    const c = client(port);
    await c.request({ method: 'GET', path: '/' });
    expect((await rejection(c.request({ method: 'GET', path: '/' }))).code).toBe('CONNECTION_LOST');
    expect(connections()).toBe(1);
  });

  it('rejects with CONNECT_FAILED when the connection is refused', async () => {
    const port = await closedPort();
    const err = await rejection(client(port).request({ method: 'GET', path: '/' }));
    expect(err.code).toBe('CONNECT_FAILED');
    expect((err.cause as NodeJS.ErrnoException).code).toBe('ECONNREFUSED');
  });

  it('is usable again after a failed request', async () => {
    let n = 0;
    const { port } = await rawServer((socket) => {
      if (n++ === 0) socket.destroy();
      else socket.write('HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok');
    });
    const c = client(port);
    await rejection(c.request({ method: 'GET', path: '/' }));
    expect(text(await c.request({ method: 'GET', path: '/' }))).toBe('ok');
  });
});

/** Resolves once `check` holds, polling every few milliseconds (rejects after 2 s). */
async function until(check: () => boolean): Promise<void> {
  for (const started = Date.now(); !check(); await sleep(5)) {
    if (Date.now() - started > 2000) throw new Error('condition not met within 2 s');
  }
}

describe('preconnect', () => {
  it('opens the connection ahead, and the first request goes on it', async () => {
    const { port, connections } = await httpServer((req, res) => res.end('ok'));
    const c = client(port);
    c.preconnect();
    await until(() => connections() === 1);
    expect(text(await c.request({ method: 'GET', path: '/' }))).toBe('ok');
    expect(connections()).toBe(1);
  });

  it('is a no-op on an open connection and after close()', async () => {
    const { port, connections } = await httpServer((req, res) => res.end('ok'));
    const c = client(port);
    await c.request({ method: 'GET', path: '/' });
    c.preconnect();
    expect(text(await c.request({ method: 'GET', path: '/' }))).toBe('ok');
    expect(connections()).toBe(1);
    const closed = client(port);
    closed.close();
    closed.preconnect();
    await sleep(50);
    expect(connections()).toBe(1);
  });

  it('opens another socket when the server closed the early one before the first request', async () => {
    let accepted = 0;
    const server = net.createServer((socket) => {
      socket.on('error', () => {});
      if (accepted++ === 0) socket.destroy();
      else socket.once('data', () => socket.write('HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok'));
    });
    const { port, connections } = await listen(server);
    const c = client(port);
    c.preconnect();
    await until(() => connections() === 1);
    await sleep(20);
    expect(text(await c.request({ method: 'GET', path: '/' }))).toBe('ok');
    expect(connections()).toBe(2);
  });

  it('drops an early socket the server spoke on before any request: the request goes on a new one', async () => {
    // No response can be due on a socket that has carried no request (a reused one keeps such
    // bytes as the next response, as a pipelining client would: 'malformed responses').
    let accepted = 0;
    let spoken: Promise<void> = Promise.resolve();
    const server = net.createServer((socket) => {
      socket.on('error', () => {});
      if (accepted++ === 0) spoken = new Promise((resolve) => socket.write('HTTP/1.1 503 Bogus\r\nContent-Length: 0\r\n\r\n', () => resolve()));
      else socket.once('data', () => socket.write('HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok'));
    });
    const { port, connections } = await listen(server);
    const c = client(port);
    c.preconnect();
    await until(() => connections() === 1);
    await spoken;
    // The client reads the bytes in the event loop's next poll, before this timer.
    await sleep(20);
    const res = await c.request({ method: 'GET', path: '/' });
    expect([res.status, text(res)]).toEqual([200, 'ok']);
    expect(connections()).toBe(2);
  });

  it('does not retry the first request when the early socket fails under it, as on a new one', async () => {
    // The first request on a socket that has carried none is not retried (see 'does not retry a
    // request on a fresh connection'): opening it early changes nothing there.
    const { port, connections } = await rawServer((socket) => socket.destroy());
    const c = client(port);
    c.preconnect();
    await until(() => connections() === 1);
    expect((await rejection(c.request({ method: 'GET', path: '/' }))).code).toBe('CONNECTION_LOST');
    expect(connections()).toBe(1);
  });

  it('retries a later request on it, as on any reused socket', async () => {
    const { port, connections } = await answersOnceThenDrops();
    const c = client(port);
    c.preconnect();
    await until(() => connections() === 1);
    expect(text(await c.request({ method: 'GET', path: '/' }))).toBe('ok');
    expect(text(await c.request({ method: 'GET', path: '/' }))).toBe('ok');
    expect(connections()).toBe(2);
  });

  it('is silent when the connection is refused: the request then reports CONNECT_FAILED', async () => {
    const c = client(await closedPort());
    c.preconnect();
    await sleep(50);
    const err = await rejection(c.request({ method: 'GET', path: '/' }));
    expect(err.code).toBe('CONNECT_FAILED');
  });
});

describe('malformed responses', () => {
  const cases: Array<[string, string]> = [
    ['not HTTP', 'SMTP ready\r\n\r\n'],
    ['a bad status code', 'HTTP/1.1 2x0 OK\r\n\r\n'],
    ['a header without a colon', 'HTTP/1.1 200 OK\r\nNoColon\r\nContent-Length: 0\r\n\r\n'],
    ['a space before the colon', 'HTTP/1.1 200 OK\r\nContent-Length : 0\r\n\r\n'],
    ['header line folding', 'HTTP/1.1 200 OK\r\nX-A: a\r\n  folded\r\nContent-Length: 0\r\n\r\n'],
    ['a bare LF', 'HTTP/1.1 200 OK\r\nX-A: a\nX-B: b\r\nContent-Length: 0\r\n\r\n'],
    ['an invalid Content-Length', 'HTTP/1.1 200 OK\r\nContent-Length: 12abc\r\n\r\n'],
    ['conflicting Content-Lengths', 'HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nab'],
    ['a bad chunk size', 'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n'],
    ['chunk data without CRLF', 'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nabX\r\n0\r\n\r\n'],
    ['a huge chunk size', 'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nfffffffffffffff\r\n'],
  ];
  it.each(cases)('rejects %s', async (_name, response) => {
    const { port } = await rawServer((socket) => socket.write(response));
    const err = await rejection(client(port).request({ method: 'GET', path: '/' }));
    expect(err.code).toBe('MALFORMED_RESPONSE');
    expect(err.message).toMatch(/^malformed HTTP response: /);
  });

  it('rejects a response head that never ends', async () => {
    const { port } = await rawServer((socket) => {
      socket.write('HTTP/1.1 200 OK\r\n');
      const line = `X-Pad: ${'p'.repeat(1000)}\r\n`;
      for (let i = 0; i < 200; i++) socket.write(line);
    });
    expect((await rejection(client(port).request({ method: 'GET', path: '/' }))).code).toBe('MALFORMED_RESPONSE');
  });

  it('accepts a status line without a reason phrase', async () => {
    const { port } = await rawServer((socket) => {
      socket.write('HTTP/1.1 202\r\nContent-Length: 2\r\n\r\nok');
    });
    const res = await client(port).request({ method: 'GET', path: '/' });
    expect([res.status, text(res)]).toEqual([202, 'ok']);
  });

  it('does not reuse an HTTP/1.0 connection without keep-alive', async () => {
    const { port, connections } = await rawServer((socket) => {
      socket.write('HTTP/1.0 200 OK\r\nContent-Length: 2\r\n\r\nok');
    });
    const c = client(port);
    expect(text(await c.request({ method: 'GET', path: '/' }))).toBe('ok');
    expect(text(await c.request({ method: 'GET', path: '/' }))).toBe('ok');
    expect(connections()).toBe(2);
  });

  it('accepts repeated identical Content-Lengths', async () => {
    const { port } = await rawServer((socket) => {
      socket.write('HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Length: 2\r\n\r\nok');
    });
    expect(text(await client(port).request({ method: 'GET', path: '/' }))).toBe('ok');
  });
});

describe('streamed requests', () => {
  interface Received {
    headers: http.IncomingHttpHeaders;
    rawHeaders: string[];
    chunks: Buffer[];
    trailers: NodeJS.Dict<string>;
  }
  async function streamServer(): Promise<LocalServer & { received: Received[] }> {
    const received: Received[] = [];
    const started = await httpServer((req, res) => {
      const r: Received = { headers: req.headers, rawHeaders: req.rawHeaders, chunks: [], trailers: {} };
      received.push(r);
      req.on('data', (c: Buffer) => r.chunks.push(c));
      req.on('end', () => {
        r.trailers = req.trailers;
        res.end(`got ${Buffer.concat(r.chunks).length}`);
      });
    });
    return { ...started, received };
  }

  it('streams a chunked body without trailers', async () => {
    const { port, received } = await streamServer();
    const c = client(port);
    const s = c.streamRequest({ method: 'POST', path: '/s', headers: { 'Content-Type': 'text/plain' } });
    await s.write('hello ');
    await s.write(new Uint8Array(0));
    await s.write(Buffer.from('wörld'));
    const res = await s.end();
    expect([res.status, text(res)]).toEqual([200, 'got 12']);
    const [r] = received;
    expect(r?.headers['transfer-encoding']).toBe('chunked');
    expect(r?.headers['content-type']).toBe('text/plain');
    expect(r?.headers['trailer']).toBeUndefined();
    expect(Buffer.concat(r?.chunks ?? []).toString()).toBe('hello wörld');
    expect(r?.trailers).toEqual({});
    // The connection is reusable afterwards.
    expect(text(await c.request({ method: 'POST', path: '/', body: 'x' }))).toBe('got 1');
  });

  it('streams a body with declared trailers', async () => {
    const { port, received } = await streamServer();
    const c = client(port);
    const s = c.streamRequest({ method: 'POST', path: '/s', trailers: ['X-Error-Type', 'X-Error-Body'] });
    await s.write('partial');
    const res = await s.end({ 'X-Error-Type': 'Function.Boom', 'X-Error-Body': 'eyJhIjoxfQ==' });
    expect(res.status).toBe(200);
    const [r] = received;
    expect(r?.headers['trailer']).toBe('X-Error-Type, X-Error-Body');
    expect(r?.trailers).toEqual({ 'x-error-type': 'Function.Boom', 'x-error-body': 'eyJhIjoxfQ==' });
  });

  it('sends the head lazily, on the first write or end', async () => {
    const { port, connections, received } = await streamServer();
    const c = client(port);
    const s = c.streamRequest({ method: 'POST', path: '/lazy' });
    await sleep(30);
    expect(connections()).toBe(0);
    const res = await s.end();
    expect(text(res)).toBe('got 0');
    expect(received[0]?.headers['transfer-encoding']).toBe('chunked');
  });

  it('honours backpressure: writes wait while the server does not read', async () => {
    let resume!: () => void;
    let total = 0;
    const { port } = await httpServer((req, res) => {
      req.pause();
      resume = () => {
        req.on('data', (c: Buffer) => (total += c.length));
        req.on('end', () => res.end('done'));
        req.resume();
      };
    });
    const c = client(port);
    const s = c.streamRequest({ method: 'POST', path: '/' });
    const chunk = Buffer.alloc(1024 * 1024, 1);
    const count = 128;
    let flushed = 0;
    const writer = (async () => {
      for (let i = 0; i < count; i++) {
        await s.write(chunk);
        flushed++;
      }
      return s.end();
    })();
    await sleep(300);
    // Socket buffers hold a few MiB at most; the writer must be parked on a pending write.
    expect(flushed).toBeLessThan(count);
    resume();
    const res = await writer;
    expect(text(res)).toBe('done');
    expect(flushed).toBe(count);
    expect(total).toBe(count * chunk.length);
  });

  it('resolves end() with an answer the server gave before the body ended, then reconnects', async () => {
    const { port, connections } = await httpServer((req, res) => {
      if (req.url === '/early') {
        res.writeHead(413, { 'Content-Type': 'text/plain' }).end('too large');
        req.resume();
      } else {
        res.end('fine');
      }
    });
    const c = client(port);
    const s = c.streamRequest({ method: 'POST', path: '/early' });
    await s.write('a');
    await sleep(30);
    await s.write('b');
    const res = await s.end();
    expect([res.status, text(res)]).toEqual([413, 'too large']);
    expect(text(await c.request({ method: 'GET', path: '/' }))).toBe('fine');
    expect(connections()).toBe(2);
  });

  it('rejects writes and end() when the connection drops mid-stream', async () => {
    const { port } = await rawServer(() => {});
    const c = client(port);
    const s = c.streamRequest({ method: 'POST', path: '/' });
    await s.write('a');
    c.close();
    await expect(s.write('b')).rejects.toBeInstanceOf(HttpClientError);
    expect((await rejection(s.end())).code).toBe('CLOSED');
  });

  it('rejects with CONNECT_FAILED when the connection is refused', async () => {
    const port = await closedPort();
    const s = client(port).streamRequest({ method: 'POST', path: '/' });
    const write = s.write('x').catch((e: unknown) => e);
    expect((await rejection(s.end())).code).toBe('CONNECT_FAILED');
    expect(await write).toBeInstanceOf(HttpClientError);
  });
});
