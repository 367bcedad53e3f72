/**
 * The bootstrap's handler grammar as `check` and the example reference tests read it.
 */
import { describe, expect, it } from 'vitest';
import { moduleHandler, MODULE_EXTENSIONS } from '../src/function-code.js';

describe('moduleHandler', () => {
  it('splits path/module.export at the first dot of the last segment', () => {
    expect(moduleHandler('app.handler', '/var/task')).toEqual({ module: '/var/task/app', exportPath: 'handler' });
    expect(moduleHandler('lib/api.handlers.get', '/var/task')).toEqual({ module: '/var/task/lib/api', exportPath: 'handlers.get' });
    expect(moduleHandler('v1.2/api.handler', '/var/task')).toEqual({ module: '/var/task/v1.2/api', exportPath: 'handler' });
    expect(MODULE_EXTENSIONS).toEqual(['', '.js', '.mjs', '.cjs']);
  });

  it('refuses what is not module.export, or leaves the task root', () => {
    for (const handler of ['hello', '.hidden', 'app.', '../up.handler']) expect(moduleHandler(handler, '/var/task'), handler).toBeUndefined();
  });
});
