/**
 * Strings known only in part before deployment (ARNs built from template expressions), and IAM
 * wildcard matching over them with three answers: a policy resource covers a requested one
 * (`yes`), cannot (`no`), or it depends on values the template does not show (`maybe`).
 */

/** One piece of a partly known string. */
export type Atom =
  /** A known character. */
  | { readonly kind: 'char'; readonly char: string }
  /** IAM `*` (policy side only): any run of characters. */
  | { readonly kind: 'any' }
  /** IAM `?` (policy side only): one character. */
  | { readonly kind: 'one' }
  /** One character of the random 6-character suffix Secrets Manager adds to a secret's ARN. */
  | { readonly kind: 'suffix' }
  /**
   * A value known at deployment: equal tokens (same `id`) are equal strings. A `deploy` token is
   * the stack's own partition, region or account, taken to match whatever literal a policy
   * writes in that ARN field (the policy's author deploys there).
   */
  | { readonly kind: 'token'; readonly id: string; readonly deploy: boolean };

/** A partly known string. */
export type Pattern = readonly Atom[];

/** Whether a policy resource covers a requested resource. */
export type Match = 'yes' | 'maybe' | 'no';

/** `text` as known characters; with `wildcards`, IAM's `*` and `?` are wildcards. */
export function literal(text: string, wildcards = false): Atom[] {
  return [...text].map((char): Atom => (wildcards && char === '*' ? { kind: 'any' } : wildcards && char === '?' ? { kind: 'one' } : { kind: 'char', char }));
}

/** A token: see {@link Atom}. */
export function token(id: string, deploy = false): Atom {
  return { kind: 'token', id, deploy };
}

/** The stack's partition (`${AWS::Partition}`). */
export const PARTITION = token('AWS::Partition', true);
/** The stack's region (`${AWS::Region}`). */
export const REGION = token('AWS::Region', true);
/** The stack's account id (`${AWS::AccountId}`). */
export const ACCOUNT = token('AWS::AccountId', true);

/** The better of two answers. */
export function best(a: Match, b: Match): Match {
  return a === 'yes' || b === 'yes' ? 'yes' : a === 'maybe' || b === 'maybe' ? 'maybe' : 'no';
}

/** The worse of two answers. */
export function worst(a: Match, b: Match): Match {
  return a === 'no' || b === 'no' ? 'no' : a === 'maybe' || b === 'maybe' ? 'maybe' : 'yes';
}

/** True when the pattern is fully known (no token, wildcard or suffix). */
export function isLiteral(pattern: Pattern): boolean {
  return pattern.every((atom) => atom.kind === 'char');
}

/** The pattern as text: tokens as `${id}`, suffix characters as `?`, wildcards as themselves. */
export function show(pattern: Pattern): string {
  return pattern
    .map((atom) => {
      switch (atom.kind) {
        case 'char':
          return atom.char;
        case 'any':
          return '*';
        case 'one':
        case 'suffix':
          return '?';
        case 'token':
          return `\${${atom.id}}`;
      }
    })
    .join('');
}

/**
 * Whether the IAM resource pattern `policy` covers the resource `request`. A wildcard matches
 * tokens whole; a token against known characters is `maybe` (its value is not in the template),
 * except a deploy token, which matches one ARN field (no `:`).
 */
export function matchPattern(policy: Pattern, request: Pattern): Match {
  const memo = new Map<number, Match>();
  const width = request.length + 1;
  const at = (p: number, r: number): Match => {
    const key = p * width + r;
    let result = memo.get(key);
    if (result === undefined) {
      result = step(p, r);
      memo.set(key, result);
    }
    return result;
  };
  const step = (p: number, r: number): Match => {
    if (p === policy.length) return r === request.length ? 'yes' : 'no';
    const want = policy[p]!;
    if (want.kind === 'any') {
      let result = at(p + 1, r);
      for (let next = r + 1; next <= request.length && result !== 'yes'; next++) result = best(result, at(p + 1, next));
      return result;
    }
    if (r === request.length) return 'no';
    const have = request[r]!;
    if (have.kind === 'token' && want.kind === 'token') return have.id === want.id ? at(p + 1, r + 1) : worst('maybe', at(p + 1, r + 1));
    if (have.kind === 'token') return have.deploy ? field(policy, p, (next) => at(next, r + 1)) : 'maybe';
    if (want.kind === 'token') return want.deploy ? field(request, r, (next) => at(p + 1, next)) : 'maybe';
    if (want.kind === 'one') return at(p + 1, r + 1);
    if (have.kind === 'suffix' || want.kind === 'suffix') {
      return have.kind === want.kind ? at(p + 1, r + 1) : worst('maybe', at(p + 1, r + 1));
    }
    return have.kind === 'char' && want.char === have.char ? at(p + 1, r + 1) : 'no';
  };
  return at(0, 0);
}

/**
 * A deploy token against the other side's spelled-out ARN field: it may stand for any
 * non-empty run of that side's atoms up to the next `:`; `then` gets the index after the run.
 */
function field(side: Pattern, from: number, then: (next: number) => Match): Match {
  let result: Match = 'no';
  for (let next = from; next < side.length && result !== 'yes'; next++) {
    const atom = side[next]!;
    if ((atom.kind === 'char' && atom.char === ':') || atom.kind === 'token') break;
    if (atom.kind === 'any') {
      // The wildcard may take over the rest of the field (and beyond).
      if (next > from) result = best(result, then(next));
      break;
    }
    result = best(result, then(next + 1));
  }
  return result;
}

/** True when the IAM action pattern (`secretsmanager:Get*`, `*`) names `action`; case-insensitive. */
export function actionMatches(pattern: string, action: string): boolean {
  const regex = pattern.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.');
  return new RegExp(`^${regex}$`, 'i').test(action);
}
