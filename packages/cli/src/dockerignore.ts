/**
 * `.dockerignore` matching as Docker does it: patterns relative to the context root, `*`, `?`,
 * `[...]` and `**`, `!` exceptions, the last matching pattern decides, and a path is excluded
 * when one of its parent directories is.
 */
import path from 'node:path';

interface Rule {
  readonly exclude: boolean;
  readonly pattern: RegExp;
  readonly text: string;
}

/** The rules of a `.dockerignore` file. */
export class DockerIgnore {
  readonly #rules: readonly Rule[];

  /** @param text - The contents of the `.dockerignore` file. */
  constructor(text: string) {
    this.#rules = text
      .split(/\r?\n/)
      .map((line) => line.trim())
      .filter((line) => line !== '' && !line.startsWith('#'))
      .map((line) => {
        const exclude = !line.startsWith('!');
        const body = path.posix.normalize((exclude ? line : line.slice(1)).trim()).replace(/^\/+|\/+$/g, '');
        return { exclude, pattern: globRegExp(body), text: line };
      });
  }

  /**
   * The pattern that keeps `relativePath` (POSIX, relative to the context) out of the context,
   * or `undefined` when it is sent.
   */
  excludedBy(relativePath: string): string | undefined {
    const clean = path.posix.normalize(relativePath).replace(/^\.\/|\/+$/g, '');
    const segments = clean.split('/');
    const candidates = segments.map((_, i) => segments.slice(0, i + 1).join('/'));
    // As Docker's matcher: a rule applies when it matches the path or one of its parent
    // directories, and the last rule that applies decides.
    let decision: Rule | undefined;
    for (const rule of this.#rules) {
      if (candidates.some((candidate) => rule.pattern.test(candidate))) decision = rule;
    }
    return decision?.exclude === true ? decision.text : undefined;
  }
}

/**
 * A pattern in Go's `filepath.Match` syntax (what Docker uses for `.dockerignore` and for
 * wildcards in `COPY` sources: `*`, `?`, `[...]`, `[!...]`, backslash escapes) plus `**` (any
 * number of directories), as an anchored regular expression over POSIX paths.
 */
export function globRegExp(pattern: string): RegExp {
  let source = '';
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i] as string;
    if (c === '*' && pattern[i + 1] === '*') {
      // `**/` matches zero or more directories; a trailing `**` matches anything.
      if (pattern[i + 2] === '/') {
        source += '(?:.*/)?';
        i += 2;
      } else {
        source += '.*';
        i += 1;
      }
    } else if (c === '*') {
      source += '[^/]*';
    } else if (c === '?') {
      source += '[^/]';
    } else if (c === '[') {
      const end = pattern.indexOf(']', i + 1);
      if (end < 0) {
        source += '\\[';
      } else {
        const body = pattern.slice(i + 1, end).replace(/^\^/, '!');
        source += `[${body.startsWith('!') ? `^${body.slice(1)}` : body}]`;
        i = end;
      }
    } else if (c === '\\' && i + 1 < pattern.length) {
      source += escapeRegExp(pattern[++i] as string);
    } else {
      source += escapeRegExp(c);
    }
  }
  return new RegExp(`^${source}$`);
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
}
