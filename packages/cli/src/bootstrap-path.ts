import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

/**
 * Where the built bootstrap is: `dist/bootstrap` of `@custom-runtime/runtime`, found through
 * Node's resolution when that package is installed next to this one, else at its place in this
 * repository (`packages/runtime`, a sibling of this package; the same path from src/ and dist/).
 */
export function defaultBootstrapPath(): string {
  try {
    return createRequire(import.meta.url).resolve('@custom-runtime/runtime/bootstrap');
  } catch {
    return fileURLToPath(new URL('../../runtime/dist/bootstrap', import.meta.url));
  }
}
