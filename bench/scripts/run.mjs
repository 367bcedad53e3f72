// `pnpm bench`: installs the peers the workspace does not (install-peers.mjs), bundles
// src/main.ts into dist/main.mjs with esbuild (Node 20 cannot run TypeScript) and runs it.
// Packages stay external, so the workspace packages are the built dist/ files users get;
// `pnpm bench` at the root builds them first.
import { spawn } from 'node:child_process';
import { constants } from 'node:os';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import { ensurePeers } from './install-peers.mjs';

const root = fileURLToPath(new URL('..', import.meta.url));
const outfile = `${root}dist/main.mjs`;

ensurePeers();

await build({
  entryPoints: [`${root}src/main.ts`],
  outfile,
  bundle: true,
  platform: 'node',
  target: 'node20',
  format: 'esm',
  packages: 'external',
  sourcemap: 'inline',
  logLevel: 'warning',
});

const child = spawn(process.execPath, [outfile, ...process.argv.slice(2)], { stdio: 'inherit' });
// Ctrl-C reaches both processes; a plain kill of this one is passed on.
process.on('SIGTERM', () => child.kill('SIGTERM'));
process.on('SIGINT', () => {});
child.on('exit', (code, signal) => {
  process.exitCode = code ?? 128 + (signal === null ? 0 : (constants.signals[signal] ?? 0));
});
