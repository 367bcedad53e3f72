/**
 * What `custom-runtime build` puts in /var/task for a function that reads secrets: the lean AWS
 * path's signer as one self-contained chunk, not tied to the SDK clients' shared chunks (which
 * only the fallback loads), and @smithy/core from its ES module build.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bundleHandlers } from '../src/handler-bundle.js';

const FIXTURE = path.join(import.meta.dirname, 'fixtures', 'project');
// minifySyntax turns `class SignatureV4 extends` into `SignatureV4=class extends`.
const DEFINES_SIGNER = /SignatureV4=class extends|class SignatureV4 extends/;
let taskDir: string;
let chunks: Map<string, string>;

beforeAll(async () => {
  taskDir = path.join(await mkdtemp(path.join(tmpdir(), 'handler-bundle-')), 'task');
  await bundleHandlers({ entries: [path.join(FIXTURE, 'src', 'config.ts')], taskDir, workingDir: FIXTURE, conditions: ['source'] });
  chunks = new Map(readdirSync(path.join(taskDir, 'chunks')).map((name) => [name, readFileSync(path.join(taskDir, 'chunks', name), 'utf8')]));
}, 60_000);

afterAll(async () => {
  if (taskDir !== undefined) await rm(path.dirname(taskDir), { recursive: true, force: true });
});

/** The chunks a chunk imports statically (`import ... from "./x.mjs"`). */
function staticImports(text: string): string[] {
  return [...text.matchAll(/(?:^|[;}\s])import\s*(?:[^'"()]*?from\s*)?["']\.\/([^"']+)["']/g)].map((m) => m[1] ?? '');
}

describe('bundleHandlers', () => {
  it('bundles the signer of the lean AWS path alone: its chunk imports no other chunk and no SDK client code', () => {
    // The lean path's own chunk, named after the piece the plugin bundled alone.
    const lean = [...chunks].find(([name]) => name.startsWith('signature-v4-'));
    expect(lean, `chunks: ${[...chunks.keys()].join(', ')}`).toBeDefined();
    const [, text] = lean ?? ['', ''];
    expect(text).toMatch(DEFINES_SIGNER);
    expect(staticImports(text)).toEqual([]);
    expect(text).not.toMatch(/constructStack|class Client\b/);
  });

  it("takes @smithy/core's ES module build (keeps esbuild's module condition beside the given ones)", () => {
    const all = [...chunks.values()].join('\n');
    expect(all).toMatch(DEFINES_SIGNER);
    // esbuild names each CommonJS module it wraps by its path, e.g. "…/@smithy+core@3.41.0/…/dist-cjs/submodules/serde/index.js".
    expect(all).not.toMatch(/@smithy[+/]core[^"]*[\\/]dist-cjs[\\/]/);
  });
});
