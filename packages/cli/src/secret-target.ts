import { parseSecretReference, SecretReferenceError } from '@custom-runtime/config';
import { literal, token, type Atom, type Pattern } from './patterns.js';
import { intrinsic, renderValue, type SamTemplate, type TemplateValue } from './template.js';
import { kmsKeyArn, patternOf, secretArnForName, suffix } from './template-patterns.js';

/** The secret a reference names, as IAM sees it. */
export interface SecretTarget {
  /** The secret's ARN (a request pattern). */
  readonly arn: Pattern;
  /** The reference selects a version: fetched with GetSecretValue, never BatchGetSecretValue. */
  readonly versioned: boolean;
  /** What to write as a policy's `Resource`/`SecretArn` to grant it (template short form). */
  readonly policyResource: string;
  /** The customer managed key of a template secret with `KmsKeyId`: reading needs kms:Decrypt on it. */
  readonly kmsKey: Pattern | undefined;
}

/** Version options of the field, which a reference's own segments override. */
export interface VersionOptions {
  readonly versionStage?: string;
  readonly versionId?: string;
}

/**
 * The secret named by a reference: a literal (name, ARN, partial ARN, optionally with
 * `:SecretString:key:stage:id` or inside `{{resolve:secretsmanager:...}}`), or a template
 * expression (`!Ref Secret`, `!Sub ...`, a parameter).
 *
 * @returns the target, or the reason the literal is not a reference (never echoing it)
 */
export function secretTarget(template: SamTemplate, value: TemplateValue, options: VersionOptions): SecretTarget | { readonly error: string } {
  const optionVersioned = options.versionStage !== undefined || options.versionId !== undefined;
  if (typeof value === 'string') {
    let reference;
    try {
      reference = parseSecretReference(value);
    } catch (error) {
      if (error instanceof SecretReferenceError) return { error: error.message };
      throw error;
    }
    const id = reference.secretId;
    const versioned = optionVersioned || reference.versionStage !== undefined || reference.versionId !== undefined;
    switch (reference.form) {
      case 'arn':
        return { arn: literal(id), versioned, policyResource: id, kmsKey: undefined };
      case 'partial-arn':
        return { arn: [...literal(`${id}-`), ...suffix()], versioned, policyResource: `${id}-??????`, kmsKey: undefined };
      case 'name':
        return {
          arn: secretArnForName(literal(id)),
          versioned,
          policyResource: `!Sub 'arn:\${AWS::Partition}:secretsmanager:\${AWS::Region}:\${AWS::AccountId}:secret:${id}-??????'`,
          kmsKey: undefined,
        };
    }
  }
  const { arn, segments } = split(patternOf(template, value, 'request'));
  const versioned = optionVersioned || (segments[2]?.length ?? 0) > 0 || (segments[3]?.length ?? 0) > 0;
  return { arn, versioned, policyResource: renderValue(value), kmsKey: secretKey(template, value) };
}

/**
 * True for a template value CloudFormation resolves at deployment (`{{resolve:...}}`): a plain
 * string, or one built with `!Sub`, `!Join` and `!Ref` parts, e.g.
 * `!Sub '{{resolve:secretsmanager:${Secret}:SecretString:key}}'` or
 * `!Join ['', ['{{resolve:secretsmanager:', !Ref Secret, '}}']]`: the deployed value is the
 * secret's value either way.
 */
export function isDynamicReference(value: TemplateValue, template?: SamTemplate): boolean {
  if (typeof value === 'string') return /\{\{resolve:/.test(value);
  if (template === undefined) return false;
  // Unknown parts (parameters, other resources) become NUL: they cannot form the marker.
  const text = patternOf(template, value, 'request')
    .map((atom) => (atom.kind === 'char' ? atom.char : '\0'))
    .join('');
  return /\{\{resolve:/.test(text);
}

// The reference grammar over a partly known string: ARN (7 fields) or name, then segments.
function split(pattern: Atom[]): { arn: Atom[]; segments: Atom[][] } {
  let atoms = pattern;
  const text = (from: number, to: number): string => atoms.slice(from, to).map((a) => (a.kind === 'char' ? a.char : '\0')).join('');
  const prefix = '{{resolve:secretsmanager:';
  if (text(0, prefix.length) === prefix && text(atoms.length - 2, atoms.length) === '}}') atoms = atoms.slice(prefix.length, -2);
  const groups: Atom[][] = [[]];
  for (const atom of atoms) {
    if (atom.kind === 'char' && atom.char === ':') groups.push([]);
    else groups[groups.length - 1]!.push(atom);
  }
  const isArn = groups.length >= 7 && groups[0]!.length === 3 && groups[0]!.every((a, i) => a.kind === 'char' && a.char === 'arn'[i]);
  if (isArn) {
    const fields = groups.slice(0, 7);
    const name = fields[6]!;
    const tail = name.slice(-7);
    const full = tail.length === 7 && tail.every((a) => a.kind === 'char') && /^-[A-Za-z0-9]{6}$/.test(tail.map((a) => (a as { char: string }).char).join(''));
    const open = name.length > 0 && name[name.length - 1]!.kind !== 'char';
    const arn = fields.flatMap((field, index) => (index === 0 ? field : [...literal(':'), ...field]));
    return { arn: full || open ? arn : [...arn, ...literal('-'), ...suffix()], segments: groups.slice(7) };
  }
  const id = groups[0]!;
  // A lone token (a parameter, an output of another resource) may hold a name or an ARN.
  const unknownShape = id.length === 1 && id[0]!.kind === 'token' && !id[0]!.deploy;
  return { arn: unknownShape ? id : secretArnForName(id), segments: groups.slice(1) };
}

function secretKey(template: SamTemplate, value: TemplateValue): Pattern | undefined {
  const fn = intrinsic(value);
  const name = fn?.name === 'Ref' ? fn.argument : fn?.name === 'Fn::GetAtt' && Array.isArray(fn.argument) ? fn.argument[0] : undefined;
  const resource = typeof name === 'string' ? template.resources.get(name) : undefined;
  if (resource?.type !== 'AWS::SecretsManager::Secret' || resource.properties.KmsKeyId === undefined) return undefined;
  return keyArn(patternOf(template, resource.properties.KmsKeyId, 'request'));
}

/** A key given as an id, an ARN or an alias, as the ARN IAM compares (an alias stays unknown). */
export function keyArn(key: Atom[]): Atom[] {
  const start = key.map((a) => (a.kind === 'char' ? a.char : '\0')).join('');
  if (start.startsWith('arn:') && !start.includes(':alias/')) return key;
  if (start.startsWith('alias/') || start.includes(':alias/')) return [token(`the key of ${start.replace(/\0/g, '?')}`)];
  return kmsKeyArn(key);
}
