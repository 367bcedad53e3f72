/**
 * The runtime never renders a value past its own redaction: an object whose `util.inspect.custom`
 * and `toJSON` hide a canary (as a config object does) is logged, thrown, thrown inside another
 * object and dir()-ed by a handler, through the built bootstrap, in both log formats; the canary
 * must appear in no stdout/stderr line, no /error body and no /init/error body.
 */
import { expect, it } from 'vitest';
import { describeOnEachNode, makeTaskRoot, startBootstrap, type BootstrapNode } from '@custom-runtime/test-support';

const CANARY = 'canary-1d9f0c7e';

const secretModule = `
  import { inspect } from 'node:util';
  export class Secretive {
    constructor() { this.token = '${CANARY}'; this.nested = { deeper: { value: '${CANARY}' } }; }
    [inspect.custom]() { return 'Secretive <redacted>'; }
    toJSON() { return { token: '<redacted>' }; }
    toString() { return 'Secretive <redacted>'; }
  }
  export const cfg = new Secretive();
  // Redacts through its inspector only: JSON renderings must not walk around it.
  export const inspectorOnly = { token: '${CANARY}', [inspect.custom]() { return 'InspectorOnly <redacted>'; } };
  export const throwingInspector = { [inspect.custom]() { throw new Error('inspector broke'); } };
  // Shaped like a redacting config: reads give the canary, the target holds a placeholder.
  export const proxied = new Proxy({ token: new Secretive(), plain: 'visible' }, { get: (t, k) => (k === 'token' ? '${CANARY}' : t[k]) });
`;

const handlers = `
  import { cfg, inspectorOnly, throwingInspector, proxied } from './secret.mjs';
  export const dir = async () => { console.dir(cfg); console.dir({ nested: cfg }); console.dir(cfg, { customInspect: false, depth: 5 }); return 'ok'; };
  export const log = async () => { console.log(cfg); console.info('with %s and %o', cfg, cfg); console.error({ config: cfg }); return 'ok'; };
  export const logWithBrokenNeighbour = async () => { console.log(cfg, throwingInspector, { config: cfg }); return 'ok'; };
  export const throwConfig = async () => { throw cfg; };
  export const throwNested = async () => { throw { reason: 'bad', config: cfg }; };
  export const throwErrorCarrying = async () => { const e = new Error('failed'); e.config = cfg; e.cause = cfg; throw e; };
  export const rejectConfig = () => Promise.reject([cfg]);
  export const inspectorOnlyLogged = async () => { console.log(inspectorOnly); console.log({ nested: inspectorOnly }); console.dir(inspectorOnly); return 'ok'; };
  // Node's console.table reads every property with plain reads: past inspectors, through get traps.
  export const table = async () => {
    console.table(cfg); console.table([cfg, { cfg }]); console.table({ a: cfg }, ['token']);
    console.table(proxied); console.table([proxied]); console.table({ a: proxied }, ['token', 'plain']);
    console.table(new Map([['k', cfg]])); console.table([{ plain: 'row' }]);
    return 'ok';
  };
  export const inspectorOnlyThrown = async () => { const e = new Error('failed'); e.detail = { inspectorOnly }; throw e; };
`;

async function run(node: BootstrapNode, format: 'Text' | 'JSON', handler: string): Promise<{ logs: string; bodies: string[] }> {
  const root = await makeTaskRoot({ 'secret.mjs': secretModule, 'app.mjs': handlers });
  const fn = await startBootstrap({ node, taskRoot: root, handler: `app.${handler}`, env: { AWS_LAMBDA_LOG_FORMAT: format } });
  const result = await fn.invoke({});
  await fn.stop();
  return { logs: fn.logs(), bodies: fn.runtimeApi.requests.map((r) => r.body.toString('utf8')).concat(result.text()) };
}

describeOnEachNode('redaction held by the runtime', (node) => {
  for (const format of ['Text', 'JSON'] as const) {
    for (const handler of [
      'dir',
      'log',
      'logWithBrokenNeighbour',
      'throwConfig',
      'throwNested',
      'throwErrorCarrying',
      'rejectConfig',
      'inspectorOnlyLogged',
      'inspectorOnlyThrown',
      'table',
    ]) {
      it(`${handler} leaks nothing (${format})`, async () => {
        const { logs, bodies } = await run(node, format, handler);
        expect(logs).not.toContain(CANARY);
        for (const body of bodies) expect(body).not.toContain(CANARY);
        // The value was rendered, through its own inspector or toJSON.
        expect(`${logs}\n${bodies.join('\n')}`).toMatch(/<redacted>/);
      });
    }
  }

  it('routes console.dir through the log format: request id, and one JSON record under AWS_LAMBDA_LOG_FORMAT=JSON', async () => {
    const root = await makeTaskRoot({ 'secret.mjs': secretModule, 'app.mjs': handlers });
    const fn = await startBootstrap({ node, taskRoot: root, handler: 'app.dir', env: { AWS_LAMBDA_LOG_FORMAT: 'JSON' } });
    await fn.invoke({}, { requestId: 'req-dir' });
    await fn.stop();
    const records = fn
      .stdout()
      .split('\n')
      .filter((line) => line.startsWith('{'))
      .map((line) => JSON.parse(line) as Record<string, unknown>)
      .filter((r) => r.requestId === 'req-dir');
    expect(records.map((r) => r.message)).toEqual([
      'Secretive <redacted>',
      '{ nested: Secretive <redacted> }',
      'Secretive <redacted>',
    ]);
    expect(records.every((r) => r.level === 'INFO')).toBe(true);
  });

  it('tabulates plain rows as Node does, and objects with inspectors as they render', async () => {
    const { logs } = await run(node, 'Text', 'table');
    expect(logs).toMatch(/│ \(index\) │ plain │\r├─+┼─+┤\r│ 0 +│ 'row' │/);
    expect(logs).toMatch(/│ token +│ 'Secretive <redacted>' │/);
    expect(logs).toMatch(/│ 0 +│ Secretive <redacted> │ 'visible' │/);
  });

  it('renders a promise made during an invocation without the event its async scope holds', async () => {
    // Node keeps the AsyncLocalStorage store on each promise and timer, and util.inspect shows it.
    const root = await makeTaskRoot({
      'app.mjs': `export const handler = async () => { const p = new Promise((r) => setTimeout(r, 1)); console.log(p); console.log(setTimeout(() => {}, 0)); await p; return 'ok'; };`,
    });
    for (const format of ['Text', 'JSON']) {
      const fn = await startBootstrap({ node, taskRoot: root, handler: 'app.handler', env: { AWS_LAMBDA_LOG_FORMAT: format } });
      const result = await fn.invoke({ password: CANARY }, { requestId: 'req-promise' });
      await fn.stop();
      expect(result.status, fn.logs()).toBe('success');
      expect(fn.logs()).not.toContain(CANARY);
      expect(fn.logs()).toContain(format === 'Text' ? 'Promise {' : '"message":{}');
    }
  });

  it('renders the other arguments through their inspectors when one inspector throws', async () => {
    const { logs } = await run(node, 'Text', 'logWithBrokenNeighbour');
    expect(logs).toMatch(/Secretive <redacted> \[value that could not be rendered\] \{ config: Secretive <redacted> \}/);
  });

  it('keeps an init error free of the canary when the module throws the object at import', async () => {
    const root = await makeTaskRoot({
      'secret.mjs': secretModule,
      'app.mjs': `import { cfg } from './secret.mjs'; console.dir(cfg); throw { reason: 'cannot start', config: cfg };`,
      'plain.mjs': `import { cfg } from './secret.mjs'; throw cfg;`,
    });
    for (const handler of ['app.handler', 'plain.handler']) {
      for (const format of ['Text', 'JSON']) {
        const fn = await startBootstrap({ node, taskRoot: root, handler, env: { AWS_LAMBDA_LOG_FORMAT: format } });
        const initError = await fn.runtimeApi.waitForInitError();
        await fn.exited;
        expect(initError.errorType).toBe('Runtime.ImportModuleError');
        expect(initError.body.toString('utf8')).not.toContain(CANARY);
        expect(fn.logs()).not.toContain(CANARY);
      }
    }
  });

  it('names the variable, never the value, when a command handler environment holds a NUL byte', async () => {
    // A config definition as the runtime knows it (docs/design.md, "The host object"): an object
    // with the @custom-runtime/environment method; its value carries a NUL and the canary.
    const root = await makeTaskRoot({
      'config.mjs': `export const definition = { [Symbol.for('@custom-runtime/environment')]: async () => ({ API_TOKEN: 'x\\u0000${CANARY}' }) };`,
      'handler.sh': { content: '#!/bin/sh\necho ok\n', mode: 0o755 },
    });
    for (const format of ['Text', 'JSON']) {
      const fn = await startBootstrap({
        node,
        taskRoot: root,
        handler: 'handler.sh',
        env: { CUSTOM_RUNTIME_CONFIG: 'config.definition', AWS_LAMBDA_LOG_FORMAT: format },
      });
      const result = await fn.invoke({});
      await fn.stop();
      expect(result.errorType, fn.logs()).toBe('Function.CommandFailed');
      expect(result.error?.errorMessage).toContain('"API_TOKEN"');
      expect(result.text()).not.toContain(CANARY);
      expect(fn.logs()).not.toContain(CANARY);
      expect(fn.logs()).toContain('API_TOKEN');
    }
  });
});
