/**
 * The .dockerignore matcher (moved from examples/test/dockerfile.test.ts) and the glob syntax it
 * shares with COPY wildcards.
 */
import { describe, expect, it } from 'vitest';
import { DockerIgnore, globRegExp } from '../src/dockerignore.js';

describe('DockerIgnore', () => {
  const ignore = new DockerIgnore(
    ['# comment', '.git', '**/node_modules', '**/dist', '!examples/keep/dist/kept.txt', '/bench/results/', '*.log', 'docs/?.md'].join('\n'),
  );

  it('leaves out matches and everything under a matching directory', () => {
    expect(ignore.excludedBy('.git/HEAD')).toBe('.git');
    expect(ignore.excludedBy('node_modules/x/index.js')).toBe('**/node_modules');
    expect(ignore.excludedBy('examples/secrets/node_modules/zod')).toBe('**/node_modules');
    expect(ignore.excludedBy('packages/runtime/dist/bootstrap')).toBe('**/dist');
    expect(ignore.excludedBy('bench/results/a.json')).toBe('/bench/results/');
    expect(ignore.excludedBy('error.log')).toBe('*.log');
    expect(ignore.excludedBy('docs/a.md')).toBe('docs/?.md');
  });

  it('sends what no rule leaves out, and what a later exception brings back', () => {
    expect(ignore.excludedBy('examples/secrets/handler.sh')).toBeUndefined();
    expect(ignore.excludedBy('packages/runtime/src/bootstrap.ts')).toBeUndefined();
    expect(ignore.excludedBy('examples/keep/dist/kept.txt')).toBeUndefined();
    expect(ignore.excludedBy('logs/error.log.txt')).toBeUndefined();
    expect(ignore.excludedBy('docs/ab.md')).toBeUndefined();
    expect(ignore.excludedBy('distribution/x')).toBeUndefined();
  });
});

describe('globRegExp', () => {
  it('reads Go filepath.Match patterns: *, ? and classes stay within one path segment', () => {
    expect(globRegExp('*.sh').test('start.sh')).toBe(true);
    expect(globRegExp('*.sh').test('bin/start.sh')).toBe(false);
    expect(globRegExp('file?.[ch]').test('file1.c')).toBe(true);
    expect(globRegExp('file?.[!ch]').test('file1.c')).toBe(false);
    expect(globRegExp('a\\*b').test('a*b')).toBe(true);
    expect(globRegExp('a\\*b').test('axb')).toBe(false);
    expect(globRegExp('**/x').test('x')).toBe(true);
  });
});
