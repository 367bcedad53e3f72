import { isParameterPath, parseParameterReference, ParameterReferenceError } from '@custom-runtime/config';
import { ACCOUNT, literal, PARTITION, REGION, token, type Atom, type Pattern } from './patterns.js';
import { intrinsic, renderValue, type SamTemplate, type TemplateValue } from './template.js';
import { patternOf } from './template-patterns.js';

/** The Parameter Store resource a field reads, as IAM sees it. */
export interface ParameterTarget {
  /** The ARN the read is authorized on (a request pattern). */
  readonly arn: Pattern;
  /** What to write as `SSMParameterReadPolicy`'s `ParameterName` (the name without its leading slash). */
  readonly policyName: string;
}

/**
 * The parameter named by a reference: a literal (name, ARN, `name:selector`, or inside
 * `{{resolve:ssm:...}}`), or a template expression (`!Ref Parameter` of an
 * `AWS::SSM::Parameter`, `!Sub ...`, a template parameter). IAM authorizes `GetParameters` on
 * the parameter's ARN without its selector.
 *
 * @returns the target, or the reason the literal is not a reference (never echoing it)
 */
export function parameterTarget(template: SamTemplate, value: TemplateValue): ParameterTarget | { readonly error: string } {
  if (typeof value === 'string') {
    let reference;
    try {
      reference = parseParameterReference(value);
    } catch (error) {
      if (error instanceof ParameterReferenceError) return { error: error.message };
      throw error;
    }
    if (reference.form === 'arn') return { arn: literal(reference.name), policyName: reference.name.split(':parameter/')[1] ?? '' };
    return { arn: parameterArn(literal(reference.name)), policyName: reference.name.replace(/^\//, '') };
  }
  const name = withoutSelector(nameOf(template, value));
  return { arn: isArn(name) ? name : parameterArn(name), policyName: renderValue(value) };
}

/**
 * The hierarchy a path field reads: IAM authorizes `GetParametersByPath` on the path's own ARN
 * (`arn:...:parameter/app/prod`, without the trailing slash).
 */
export function parameterPathTarget(template: SamTemplate, value: TemplateValue): ParameterTarget | { readonly error: string } {
  if (typeof value === 'string') {
    const path = value.trim();
    if (!isParameterPath(path)) return { error: 'a path starts with "/" and is made of segments of letters, digits and ._-' };
    const bare = path === '/' ? path : path.replace(/\/$/, '');
    return { arn: parameterArn(literal(bare)), policyName: bare.replace(/^\//, '') };
  }
  const path = nameOf(template, value);
  const last = path.at(-1);
  const bare = last?.kind === 'char' && last.char === '/' && path.length > 1 ? path.slice(0, -1) : path;
  return { arn: parameterArn(bare), policyName: renderValue(value) };
}

/**
 * `arn:${AWS::Partition}:ssm:${AWS::Region}:${AWS::AccountId}:parameter` then the name, with
 * one slash between (a hierarchical name brings its own). A name that starts with a value the
 * template does not show (a template parameter) may or may not bring one: it follows directly.
 */
export function parameterArn(name: Pattern): Atom[] {
  const first = name[0];
  const slash = first?.kind !== 'char' || first.char === '/' ? [] : literal('/');
  return [...literal('arn:'), PARTITION, ...literal(':ssm:'), REGION, ...literal(':'), ACCOUNT, ...literal(':parameter'), ...slash, ...name];
}

// A parameter resource's Ref is its Name; without one, CloudFormation generates it.
function nameOf(template: SamTemplate, value: TemplateValue): Atom[] {
  const fn = intrinsic(value);
  if (fn?.name === 'Ref' && typeof fn.argument === 'string') {
    const resource = template.resources.get(fn.argument);
    if (resource?.type === 'AWS::SSM::Parameter') {
      const name = resource.properties.Name;
      return name === undefined ? [token(`name of ${resource.logicalId}`)] : patternOf(template, name, 'request');
    }
  }
  return patternOf(template, value, 'request');
}

function isArn(pattern: Pattern): boolean {
  return pattern.slice(0, 4).every((atom, i) => atom.kind === 'char' && atom.char === 'arn:'[i]);
}

// `name:3` / `name:label` (after the ARN's own five colons): IAM sees the name only.
function withoutSelector(pattern: Atom[]): Atom[] {
  let colons = isArn(pattern) ? -5 : 0;
  for (let i = 0; i < pattern.length; i++) {
    const atom = pattern[i]!;
    if (atom.kind === 'char' && atom.char === ':' && ++colons > 0) return pattern.slice(0, i);
  }
  return pattern;
}
