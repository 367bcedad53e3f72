/**
 * Handler loading through the built bootstrap, against what the managed Node.js runtime does
 * (aws-lambda-nodejs-runtime-interface-client src/UserFunction.js, `_tryRequire`, and
 * src/function/handler-resolver.ts, `resolveHandler`), on the tests' Node and on Node 22.
 */
import { expect, it } from 'vitest';
import { BOOTSTRAP, describeOnEachNode, makeTaskRoot, NODE22, startBootstrap } from '@custom-runtime/test-support';

describeOnEachNode('CommonJS handlers', (node) => {
  it('finds exports.default (tsc\'s `export default`) as index.default, in a .js file of a CommonJS package', async () => {
    const root = await makeTaskRoot({
      'package.json': JSON.stringify({ name: 'app', type: 'commonjs' }),
      'index.js': `"use strict";
        Object.defineProperty(exports, "__esModule", { value: true });
        const handler = async (event) => ({ loadedBy: typeof require === 'function' ? 'require' : 'import', event });
        exports.default = handler;`,
    });
    const fn = await startBootstrap({ node, taskRoot: root, handler: 'index.default' });
    const result = await fn.invoke({ n: 1 });
    expect(result.status, fn.logs()).toBe('success');
    expect(result.json()).toEqual({ loadedBy: 'require', event: { n: 1 } });
  });

  it('requires an extensionless CommonJS file inside a "type": "module" package', async () => {
    const root = await makeTaskRoot({
      'package.json': JSON.stringify({ type: 'module' }),
      app: 'exports.handler = async () => ({ kind: typeof module });',
    });
    const fn = await startBootstrap({ node, taskRoot: root, handler: 'app.handler' });
    const result = await fn.invoke({});
    expect(result.status, fn.logs()).toBe('success');
    expect(result.json()).toEqual({ kind: 'object' });
  });

  it('requires a .cjs file and keeps ESM (.mjs, .js under "type": "module") on import()', async () => {
    const root = await makeTaskRoot({
      'package.json': JSON.stringify({ type: 'module' }),
      'cjs.cjs': 'module.exports = { handler: async () => "cjs " + typeof module };',
      'esm.js': 'export const handler = async () => "esm " + typeof module;',
      'other.mjs': 'export default { handler: async () => "mjs default" };',
    });
    for (const [handler, expected] of [
      ['cjs.handler', 'cjs object'],
      ['esm.handler', 'esm undefined'],
      // Not found by name: looked up again under `default` (src/function/handler-resolver.ts L11-19).
      ['other.handler', 'mjs default'],
    ] as const) {
      const fn = await startBootstrap({ node, taskRoot: root, handler });
      const result = await fn.invoke({});
      expect(result.json(), `${handler}: ${fn.logs()}`).toBe(expected);
    }
  });
});

describeOnEachNode('handlers the runtime refuses at init', (node) => {
  it('refuses a callback-style handler with Runtime.CallbackHandlerDeprecated and says how to convert it', async () => {
    // src/function/callback-deprecation.ts L9: argsNum >= 3 and not a streaming handler.
    const root = await makeTaskRoot({ 'app.mjs': 'export const handler = (event, context, callback) => callback(null, "late");' });
    const fn = await startBootstrap({ node, taskRoot: root, handler: 'app.handler' });
    const initError = await fn.runtimeApi.waitForInitError();
    expect(initError.errorType).toBe('Runtime.CallbackHandlerDeprecated');
    expect(initError.error?.errorMessage).toMatch(/callback-based handlers are not supported/);
    expect(initError.error?.errorMessage).toMatch(/async function that returns its result/);
    expect((await fn.exited).code).not.toBe(0);
    // Nothing was ever posted as a success.
    expect(fn.runtimeApi.requests.some((r) => r.path.endsWith('/response'))).toBe(false);
  });

  it('loads a module whose unrelated export getter throws: the prefetch scan reads data properties only', async () => {
    const root = await makeTaskRoot({
      'app.cjs': `Object.defineProperty(exports, 'broken', { enumerable: true, get() { throw new Error('getter ran'); } });
        exports.handler = async () => 'fine';`,
      'esm.mjs': `export const handler = async () => 'esm fine';
        export const proxy = new Proxy({}, { get() { throw new Error('trap ran'); }, ownKeys() { throw new Error('trap ran'); } });`,
    });
    for (const [handler, expected] of [
      ['app.handler', 'fine'],
      ['esm.handler', 'esm fine'],
    ] as const) {
      const fn = await startBootstrap({ node, taskRoot: root, handler });
      const result = await fn.invoke({});
      expect(result.json(), `${handler}: ${fn.logs()}`).toBe(expected);
      expect(fn.logs()).not.toMatch(/getter ran|trap ran/);
    }
  });
});

describeOnEachNode('exports the prefetch scan must leave alone', (node) => {
  it('never calls into an exported Proxy that answers every key with a function, nor a getter on a prototype', async () => {
    // A lazy singleton (export const db = new Proxy({}, { get: (_, k) => (...a) => client()[k](...a) }))
    // answers the prefetch symbol too: calling it failed init, in a module the managed runtime runs.
    const root = await makeTaskRoot({
      'app.mjs': `export const db = new Proxy({}, { get: () => () => { throw new Error('proxy method ran'); } });
        class Lazy { get [Symbol.for('@custom-runtime/prefetch')]() { throw new Error('prototype getter ran'); } }
        export const lazy = new Lazy();
        export const handler = async () => 'fine';`,
    });
    const fn = await startBootstrap({ node, taskRoot: root, handler: 'app.handler', snapStart: true });
    await fn.snapshot();
    await fn.restore();
    const result = await fn.invoke({});
    expect(result.json(), fn.logs()).toBe('fine');
    expect(fn.logs()).not.toMatch(/proxy method ran|prototype getter ran/);
  });
});

describeOnEachNode('modules that throw exotic values at import', (node) => {
  it('reports a Proxy thrown at import as Runtime.ImportModuleError, from ESM and CommonJS', async () => {
    const body = `const trap = () => { throw new Error('trap ran'); };
        throw new Proxy({}, { getPrototypeOf: trap, get: trap, has: trap });`;
    const root = await makeTaskRoot({ 'esm.mjs': body, 'cjs.cjs': body });
    for (const handler of ['esm.handler', 'cjs.handler']) {
      const fn = await startBootstrap({ node, taskRoot: root, handler });
      const initError = await fn.runtimeApi.waitForInitError();
      expect(initError.errorType, `${handler}: ${fn.logs()}`).toBe('Runtime.ImportModuleError');
      // Node's ESM loader may itself trip over the traps; either way the report is a message.
      expect(initError.error?.errorMessage).toMatch(/a Proxy was thrown|trap ran/);
      expect((await fn.exited).code).not.toBe(0);
    }
  });
});

describeOnEachNode('a TypeScript handler module', (node) => {
  // The managed runtime reports a module it cannot find as Runtime.ImportModuleError
  // (aws-lambda-nodejs-runtime-interface-client src/UserFunction.js, `_loadUserApp`:
  // MODULE_NOT_FOUND becomes ImportModuleError) and tries .ts/.mts/.cts only on Node 24
  // (`_tryRequire`, behind `_runtimeSupportsTypeScript`); the type stays, the message says why.
  for (const [handler, file, expected] of [
    ['app.handler', 'app.ts', 'app.handler'],
    ['app.ts.handler', 'app.ts', 'app.handler'],
    ['lib/api.get', 'lib/api.mts', 'lib/api.get'],
  ] as const) {
    it(`reports ${handler} with only ${file} as Runtime.ImportModuleError naming the file and how to build it`, async () => {
      const root = await makeTaskRoot({ [file]: 'export const handler = async (event: unknown): Promise<unknown> => event;' });
      const fn = await startBootstrap({ node, taskRoot: root, handler });
      const initError = await fn.runtimeApi.waitForInitError();
      expect(initError.errorType).toBe('Runtime.ImportModuleError');
      const message = initError.error?.errorMessage ?? '';
      expect(message).toMatch(/^Cannot find module /);
      expect(message).toContain(`${file} is there, but the runtime loads JavaScript only (.js, .mjs, .cjs), not TypeScript`);
      expect(message).toContain(`compile or bundle it to .js/.mjs (\`custom-runtime build ${file}\``);
      expect(message).toContain(`name the module without an extension in the handler: ${expected}`);
      expect((await fn.exited).code).not.toBe(0);
    });
  }

  it('adds no TypeScript hint when no .ts file explains the missing module', async () => {
    const root = await makeTaskRoot({ 'other.ts': 'export const handler = async () => 1;' });
    const fn = await startBootstrap({ node, taskRoot: root, handler: 'app.handler' });
    const initError = await fn.runtimeApi.waitForInitError();
    expect(initError.errorType).toBe('Runtime.ImportModuleError');
    expect(initError.error?.errorMessage).toMatch(/^Cannot find module 'app'/);
    expect(initError.error?.errorMessage).not.toMatch(/TypeScript/);
  });
});

// Node 20 loads an ES module handler with require() first (handler-loader.ts, `requiresEsModules`):
// the process's first import() costs it about 2 ms more. These pin what must not change with it.
describeOnEachNode('ES module handlers, loaded as the managed runtime loads them', (node) => {
  const tla = {
    'first.mjs': "(globalThis.order ??= []).push('first');",
    'tla.mjs': [
      "import './first.mjs';",
      "globalThis.order.push('tla before its await');",
      "const greeting = await new Promise((resolve) => setTimeout(() => resolve('hello'), 5));",
      "globalThis.order.push('tla after its await');",
      'export const handler = async () => ({ greeting, order: globalThis.order });',
    ].join('\n'),
  };
  const expected = { greeting: 'hello', order: ['first', 'tla before its await', 'tla after its await'] };

  it('evaluates a module that awaits at top level once, in import order, with what it awaited', async () => {
    const root = await makeTaskRoot(tla);
    const fn = await startBootstrap({ node, taskRoot: root, handler: 'tla.handler' });
    expect((await fn.invoke({})).json(), fn.logs()).toEqual(expected);
  });

  it('does so with --experimental-print-required-tla, with which require() runs a module up to its await', async () => {
    const root = await makeTaskRoot(tla);
    const fn = await startBootstrap({ node, taskRoot: root, handler: 'tla.handler', env: { NODE_OPTIONS: '--experimental-print-required-tla' } });
    expect((await fn.invoke({})).json(), fn.logs()).toEqual(expected);
  });

  it('awaits a chunk that awaits at top level, imported by the handler module', async () => {
    const root = await makeTaskRoot({
      'index.mjs': "import { value } from './chunks/slow.mjs';\nexport const handler = async () => value;",
      'chunks/slow.mjs': "export const value = await Promise.resolve('from the chunk');",
    });
    const fn = await startBootstrap({ node, taskRoot: root, handler: 'index.handler' });
    expect((await fn.invoke({})).json(), fn.logs()).toBe('from the chunk');
  });

  it('reports a named import its dependency lacks as Runtime.UserCodeSyntaxError, naming the export and the handler file', async () => {
    const root = await makeTaskRoot({
      'dep.mjs': 'export const present = 1;',
      'app.mjs': "import { missing } from './dep.mjs';\nexport const handler = async () => missing;",
    });
    const fn = await startBootstrap({ node, taskRoot: root, handler: 'app.handler' });
    const initError = await fn.runtimeApi.waitForInitError();
    expect(initError.errorType).toBe('Runtime.UserCodeSyntaxError');
    expect(initError.error?.errorMessage).toContain("does not provide an export named 'missing'");
    expect(initError.error?.errorMessage).toContain('app.mjs');
  });

  // Node 20 rejects such a failure a second time, unhandled, on the import() path (nodejs/node#51603):
  // the runtime must still post the init error, not exit as for a new fault before it is out.
  for (const [path, tlaInGraph, nodeOptions] of [
    ['the handler loaded as it is', false, undefined],
    ['a top-level await in the graph', true, undefined],
    ['NODE_OPTIONS that keep import()', false, '--no-deprecation'],
  ] as const) {
    it(`reports a CommonJS dependency that throws at import as Runtime.ImportModuleError, with ${path}`, async () => {
      const root = await makeTaskRoot({
        'dep.cjs': "throw new RangeError('boom from a CommonJS dependency');",
        'app.mjs': `import './dep.cjs';\n${tlaInGraph ? 'await Promise.resolve();\n' : ''}export const handler = async () => 1;`,
      });
      const env: Record<string, string> = nodeOptions === undefined ? {} : { NODE_OPTIONS: nodeOptions };
      const fn = await startBootstrap({ node, taskRoot: root, handler: 'app.handler', env });
      const initError = await fn.runtimeApi.waitForInitError();
      expect(initError.errorType, fn.logs()).toBe('Runtime.ImportModuleError');
      expect(initError.error?.errorMessage).toBe('RangeError: boom from a CommonJS dependency');
      expect((await fn.exited).code).toBe(1);
      expect(fn.logs()).not.toMatch(/UnhandledPromiseRejection/);
    });
  }

  it("looks the handler up in the namespace of a module that exports the name 'module.exports'", async () => {
    const root = await makeTaskRoot({
      'app.mjs': "const other = { handler: async () => 'module.exports' };\nexport { other as 'module.exports' };\nexport const handler = async () => 'named';",
    });
    const fn = await startBootstrap({ node, taskRoot: root, handler: 'app.handler' });
    expect((await fn.invoke({})).json(), fn.logs()).toBe('named');
  });

  const hooked = async (nodeOptions: (root: string) => string): Promise<unknown> => {
    const root = await makeTaskRoot({
      'hooks.mjs': [
        'export async function resolve(specifier, context, next) {',
        "  if (specifier === 'virtual:greeting') return { url: 'data:text/javascript,export default \"from a hook\"', shortCircuit: true };",
        '  return next(specifier, context);',
        '}',
      ].join('\n'),
      'register.mjs': "import { register } from 'node:module';\nregister('./hooks.mjs', import.meta.url);",
      'register.cjs': "require('node:module').register('./hooks.mjs', require('node:url').pathToFileURL(__filename));",
      'app.mjs': "import greeting from 'virtual:greeting';\nexport const handler = async () => greeting;",
    });
    const fn = await startBootstrap({ node, taskRoot: root, handler: 'app.handler', env: { NODE_OPTIONS: nodeOptions(root) } });
    const result = await fn.invoke({});
    expect(result.status, fn.logs()).toBe('success');
    return result.json();
  };

  for (const [spelling, options] of [
    ['--import <file>', (root: string) => `--import ${root}/register.mjs`],
    ['--import=<file>', (root: string) => `--import=${root}/register.mjs`],
    ['"--import" "<file>"', (root: string) => `"--import" "${root}/register.mjs"`],
    ['--require <file>, which registers them', (root: string) => `--require ${root}/register.cjs`],
  ] as const) {
    it(`runs the module customization hooks registered through NODE_OPTIONS ${spelling}`, async () => {
      expect(await hooked(options)).toBe('from a hook');
    });
  }

  // require() leaves the module in require.cache (and, on Node 20, skips fs/promises); import() neither.
  // `node20`: a Node 20 with require(esm) (20.19 and later), where the runtime tries require().
  const howLoaded = async (env: Record<string, string>, flags: readonly string[] = []): Promise<{ node20: boolean; required: boolean; fsPromises: boolean }> => {
    const root = await makeTaskRoot({
      'dep.mjs': "export const fsPromises = () => process.moduleLoadList.includes('NativeModule internal/fs/promises');",
      'app.mjs': [
        "import { createRequire } from 'node:module';",
        "import { fileURLToPath } from 'node:url';",
        "import { fsPromises } from './dep.mjs';",
        'const required = fileURLToPath(import.meta.url) in createRequire(import.meta.url).cache;',
        "const node20 = process.versions.node.startsWith('20.') && process.features.require_module === true;",
        'export const handler = async () => ({ node20, required, fsPromises: fsPromises() });',
      ].join('\n'),
    });
    const command = flags.length === 0 ? {} : { command: node === 'node22' ? (NODE22 ?? '') : process.execPath, args: [...flags, BOOTSTRAP] };
    const fn = await startBootstrap({ node: flags.length === 0 ? node : 'current', taskRoot: root, handler: 'app.handler', env, ...command });
    return (await fn.invoke({})).json() as { node20: boolean; required: boolean; fsPromises: boolean };
  };

  it('loads a module without top-level await with require() on Node 20, skipping the asynchronous loader, and with import() on Node 22', async () => {
    const { node20, required, fsPromises } = await howLoaded({});
    expect({ required, fsPromises }).toEqual(node20 ? { required: true, fsPromises: false } : { required: false, fsPromises });
  });

  it('still does with NODE_OPTIONS that leave module loading alone', async () => {
    const { node20, required } = await howLoaded({ NODE_OPTIONS: '--enable-source-maps --max-old-space-size=256' });
    expect(required).toBe(node20);
  });

  it('imports with any other NODE_OPTIONS', async () => {
    expect((await howLoaded({ NODE_OPTIONS: '--no-deprecation' })).required).toBe(false);
  });

  it('imports with any flag on the command line', async () => {
    expect((await howLoaded({}, ['--no-deprecation'])).required).toBe(false);
  });
});
