/**
 * What CloudFormation does with a template's values at deployment, with the values chosen by the
 * caller (a test running a template's functions locally): intrinsic functions evaluated and
 * `{{resolve:secretsmanager:...}}` references resolved. And every logical id the intrinsic
 * functions of a template refer to.
 */
import { CliError } from './cli-error.js';
import { getAttParts, isRecord, type SamTemplate, type TemplateValue } from './template.js';

/** A template value that cannot be evaluated, and where (a path in the template, never a value). */
export class TemplateError extends CliError {
  /** @param message - Where and what, never a value of the template. */
  constructor(message: string) {
    super(message);
    this.name = 'TemplateError';
  }
}

/**
 * A mapping of the template, or an empty one when absent; throws {@link TemplateError} naming
 * `where` for anything else.
 */
export function mapping(value: unknown, where: string): Readonly<Record<string, TemplateValue>> {
  if (value === undefined || value === null) return {};
  if (!isRecord(value)) throw new TemplateError(`${where}: expected a mapping`);
  return value;
}

/** A logical id an intrinsic function refers to, and where in the template. */
export interface TemplateReference {
  readonly kind: 'Ref' | 'GetAtt' | 'Sub' | 'Condition';
  readonly target: string;
  readonly path: string;
}

/** Every `Ref`, `Fn::GetAtt`, `${...}` of `Fn::Sub` and condition name used in the template. */
export function templateReferences(template: SamTemplate): TemplateReference[] {
  const found: TemplateReference[] = [];
  const walk = (value: unknown, at: string): void => {
    if (Array.isArray(value)) {
      value.forEach((item, i) => walk(item, `${at}[${i}]`));
      return;
    }
    if (typeof value !== 'object' || value === null) return;
    for (const [key, inner] of Object.entries(value)) {
      const here = `${at}.${key}`;
      if (key === 'Ref' && typeof inner === 'string') found.push({ kind: 'Ref', target: inner, path: here });
      else if (key === 'Fn::GetAtt') found.push({ kind: 'GetAtt', target: getAttTarget(inner, here)[0], path: here });
      else if (key === 'Fn::Sub') {
        const [text, variables] = subArguments(inner, here);
        for (const name of subVariables(text)) {
          if (!(name.split('.')[0]! in variables)) found.push({ kind: 'Sub', target: name.split('.')[0]!, path: here });
        }
      } else if (key === 'Fn::If' && Array.isArray(inner) && typeof inner[0] === 'string') {
        found.push({ kind: 'Condition', target: inner[0], path: here });
      } else if (key === 'Condition' && typeof inner === 'string') {
        found.push({ kind: 'Condition', target: inner, path: here });
      }
      walk(inner, here);
    }
  };
  walk(template.document, '');
  return found.map((r) => ({ ...r, path: r.path.replace(/^\./, '') }));
}

function getAttTarget(value: unknown, where: string): [string, string] {
  const parts = typeof value === 'string' ? getAttParts(value) : value;
  if (!Array.isArray(parts) || parts.length !== 2 || typeof parts[0] !== 'string' || typeof parts[1] !== 'string') {
    throw new TemplateError(`${where}: Fn::GetAtt needs [resource, attribute]`);
  }
  return [parts[0], parts[1]];
}

function subArguments(value: unknown, where: string): [string, Readonly<Record<string, unknown>>] {
  if (typeof value === 'string') return [value, {}];
  if (Array.isArray(value) && value.length === 2 && typeof value[0] === 'string') return [value[0], mapping(value[1], where)];
  throw new TemplateError(`${where}: Fn::Sub needs a string or [string, variables]`);
}

/** Names in `${...}` of a `Fn::Sub` string; `${!literal}` is not one. */
function subVariables(text: string): string[] {
  return [...text.matchAll(/\$\{([^}!][^}]*)\}/g)].map((m) => (m[1] ?? '').trim());
}

/** What the evaluation of intrinsic functions needs: the values CloudFormation would use. */
export interface EvaluationContext {
  /** Its `Conditions` are evaluated for `Fn::If` and `Condition`. */
  readonly template: SamTemplate;
  /** `Ref` values: parameters, resources and pseudo parameters (`AWS::Region`, ...). */
  readonly refs: Readonly<Record<string, string>>;
  /** `Fn::GetAtt` values by `Resource.Attribute`. */
  readonly attributes?: Readonly<Record<string, string>>;
}

/**
 * Evaluates the intrinsic functions in `value` (`Ref`, `Fn::Sub`, `Fn::Join`, `Fn::If` with the
 * template's conditions, `Fn::GetAtt`, `Fn::Select`, `Fn::Split`, `Fn::Equals`, `Fn::Not`,
 * `Fn::And`, `Fn::Or`); throws {@link TemplateError} naming `where` for anything else or a name
 * the context does not know.
 */
export function evaluate(value: unknown, context: EvaluationContext, where: string): unknown {
  if (Array.isArray(value)) return value.map((item, i) => evaluate(item, context, `${where}[${i}]`));
  if (typeof value !== 'object' || value === null) return value;
  const entries = Object.entries(value);
  const [key, argument] = entries[0] ?? [];
  if (entries.length !== 1 || key === undefined || !(key === 'Ref' || key.startsWith('Fn::') || key === 'Condition')) {
    return Object.fromEntries(entries.map(([k, v]) => [k, evaluate(v, context, `${where}.${k}`)]));
  }
  const at = `${where} (${key})`;
  switch (key) {
    case 'Ref':
      return lookup(context.refs, argument, at);
    case 'Condition':
      return condition(argument, context, at);
    case 'Fn::GetAtt': {
      const [resource, attribute] = getAttTarget(argument, at);
      return lookup(context.attributes ?? {}, `${resource}.${attribute}`, at);
    }
    case 'Fn::Sub': {
      const [text, variables] = subArguments(argument, at);
      const own = Object.fromEntries(Object.entries(variables).map(([k, v]) => [k, String(evaluate(v, context, `${at}.${k}`))]));
      return text.replace(/\$\{([^}]*)\}/g, (_, inner: string) => {
        if (inner.startsWith('!')) return `\${${inner.slice(1)}}`;
        const name = inner.trim();
        if (name in own) return own[name] as string;
        if (name.includes('.')) return String(lookup(context.attributes ?? {}, name, at));
        return String(lookup(context.refs, name, at));
      });
    }
    case 'Fn::Join': {
      const [separator, items] = list(argument, 2, at);
      const values = evaluate(items, context, at);
      if (typeof separator !== 'string' || !Array.isArray(values)) throw new TemplateError(`${at}: needs [separator, [values]]`);
      return values.map(String).join(separator);
    }
    case 'Fn::Select': {
      const [index, items] = list(argument, 2, at);
      const values = evaluate(items, context, at);
      const i = Number(evaluate(index, context, at));
      if (!Array.isArray(values) || !Number.isInteger(i) || i < 0 || i >= values.length) throw new TemplateError(`${at}: index out of range`);
      return values[i];
    }
    case 'Fn::Split': {
      const [separator, text] = list(argument, 2, at);
      const source = evaluate(text, context, at);
      if (typeof separator !== 'string' || typeof source !== 'string') throw new TemplateError(`${at}: needs [separator, string]`);
      return source.split(separator);
    }
    case 'Fn::If': {
      const [name, whenTrue, whenFalse] = list(argument, 3, at);
      return evaluate(condition(name, context, at) ? whenTrue : whenFalse, context, at);
    }
    case 'Fn::Equals': {
      const [a, b] = list(argument, 2, at);
      return String(evaluate(a, context, at)) === String(evaluate(b, context, at));
    }
    case 'Fn::Not':
      return !truth(evaluate(list(argument, 1, at)[0], context, at), at);
    case 'Fn::And':
      return (argument as unknown[]).every((item) => truth(evaluate(item, context, at), at));
    case 'Fn::Or':
      return (argument as unknown[]).some((item) => truth(evaluate(item, context, at), at));
    default:
      throw new TemplateError(`${at}: ${key} is not supported by this evaluator`);
  }
}

function list(value: unknown, length: number, where: string): unknown[] {
  if (!Array.isArray(value) || value.length !== length) throw new TemplateError(`${where}: expected a list of ${length}`);
  return value;
}

function truth(value: unknown, where: string): boolean {
  if (typeof value !== 'boolean') throw new TemplateError(`${where}: expected a condition, got ${typeof value}`);
  return value;
}

function lookup(values: Readonly<Record<string, string>>, name: unknown, where: string): string {
  if (typeof name !== 'string' || !Object.hasOwn(values, name)) {
    throw new TemplateError(`${where}: no value for ${String(name)}`);
  }
  return values[name] as string;
}

function condition(name: unknown, context: EvaluationContext, where: string): boolean {
  const conditions = mapping(context.template.document.Conditions, 'Conditions');
  if (typeof name !== 'string' || !Object.hasOwn(conditions, name)) throw new TemplateError(`${where}: no condition ${String(name)}`);
  return truth(evaluate(conditions[name], context, `Conditions.${name}`), where);
}

/**
 * Replaces `{{resolve:secretsmanager:id[:SecretString[:json-key]]}}` as CloudFormation does at
 * deploy time, with `secretString(id)`. Other dynamic references (ssm, ssm-secure) and version
 * segments are refused.
 */
export function resolveDynamicReferences(text: string, secretString: (secretId: string) => string, where: string): string {
  return text.replace(/\{\{resolve:([a-z-]+):([^}]*)\}\}/g, (_, service: string, body: string) => {
    if (service !== 'secretsmanager') throw new TemplateError(`${where}: {{resolve:${service}:...}} is not supported by this evaluator`);
    // A full ARN has colons of its own: it ends at the 7th field (arn:aws:secretsmanager:region:account:secret:name).
    const parts = body.split(':');
    const idLength = parts[0] === 'arn' ? 7 : 1;
    const secretId = parts.slice(0, idLength).join(':');
    const [kind, jsonKey, stage, version] = parts.slice(idLength);
    if (kind !== undefined && kind !== 'SecretString') throw new TemplateError(`${where}: expected SecretString after the secret id`);
    if ((stage ?? '') !== '' || (version ?? '') !== '') throw new TemplateError(`${where}: version segments are not supported by this evaluator`);
    const value = secretString(secretId);
    if (jsonKey === undefined || jsonKey === '') return value;
    const parsed: unknown = JSON.parse(value);
    const picked = typeof parsed === 'object' && parsed !== null ? (parsed as Record<string, unknown>)[jsonKey] : undefined;
    if (typeof picked !== 'string') throw new TemplateError(`${where}: the secret has no string key ${jsonKey}`);
    return picked;
  });
}
