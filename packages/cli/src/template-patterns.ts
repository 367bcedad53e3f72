import { ACCOUNT, literal, PARTITION, REGION, token, type Atom, type Pattern } from './patterns.js';
import { intrinsic, type SamTemplate, type TemplateResource, type TemplateValue } from './template.js';

/**
 * Which side of a comparison a value is on: a policy's `Resource` (IAM wildcards `*` and `?`
 * apply) or a resource the function asks for (every character is literal).
 */
export type Side = 'policy' | 'request';

const DEPLOY_PSEUDO: Readonly<Record<string, Atom>> = {
  'AWS::Partition': PARTITION,
  'AWS::Region': REGION,
  'AWS::AccountId': ACCOUNT,
};

/**
 * What a template value will be once deployed, as far as the template tells: strings are
 * known, `Ref`/`Fn::GetAtt`/`Fn::Sub`/`Fn::Join` are followed (a secret's `Ref` becomes its ARN
 * `arn:${AWS::Partition}:secretsmanager:${AWS::Region}:${AWS::AccountId}:secret:NAME-??????`),
 * parameters and other functions become tokens. Parameter values are never read.
 */
export function patternOf(template: SamTemplate, value: TemplateValue, side: Side): Atom[] {
  return new PatternBuilder(template, side).value(value, 0);
}

/** The ARN of a KMS key whose id is `keyId`, as SAM's `KMSDecryptPolicy` writes it. */
export function kmsKeyArn(keyId: Pattern): Atom[] {
  return [...literal('arn:'), PARTITION, ...literal(':kms:'), REGION, ...literal(':'), ACCOUNT, ...literal(':key/'), ...keyId];
}

/** The ARN of a secret in the stack's account and region: `name` then the 6-character suffix. */
export function secretArnForName(name: Pattern): Atom[] {
  return [...secretArnPrefix(), ...name, ...literal('-'), ...suffix()];
}

/** `arn:${AWS::Partition}:secretsmanager:${AWS::Region}:${AWS::AccountId}:secret:` */
export function secretArnPrefix(): Atom[] {
  return [...literal('arn:'), PARTITION, ...literal(':secretsmanager:'), REGION, ...literal(':'), ACCOUNT, ...literal(':secret:')];
}

/** The 6 random characters Secrets Manager appends to a secret's ARN. */
export function suffix(): Atom[] {
  return Array.from({ length: 6 }, (): Atom => ({ kind: 'suffix' }));
}

// Values decided at deployment get ids never seen before: equal to nothing but themselves.
let opaqueCount = 0;

class PatternBuilder {
  readonly #template: SamTemplate;
  readonly #side: Side;

  constructor(template: SamTemplate, side: Side) {
    this.#template = template;
    this.#side = side;
  }

  value(value: TemplateValue, depth: number): Atom[] {
    if (depth > 16) return [this.#unknown()];
    if (typeof value === 'string') return literal(value, this.#side === 'policy');
    if (typeof value === 'number' || typeof value === 'boolean') return literal(String(value));
    const fn = intrinsic(value);
    if (fn === undefined) return [this.#unknown()];
    switch (fn.name) {
      case 'Ref':
        return typeof fn.argument === 'string' ? this.#ref(fn.argument, depth) : [this.#unknown()];
      case 'Fn::GetAtt': {
        const [name, attribute] = Array.isArray(fn.argument) ? fn.argument : [];
        return typeof name === 'string' && typeof attribute === 'string' ? this.#getAtt(name, attribute, depth) : [this.#unknown()];
      }
      case 'Fn::Sub':
        return this.#sub(fn.argument, depth);
      case 'Fn::Join': {
        const [delimiter, parts] = Array.isArray(fn.argument) ? fn.argument : [];
        if (typeof delimiter !== 'string' || !Array.isArray(parts)) return [this.#unknown()];
        return parts.flatMap((part, index) => [...(index > 0 ? literal(delimiter) : []), ...this.value(part, depth + 1)]);
      }
      default:
        // Fn::If, Fn::FindInMap, Fn::ImportValue, Fn::Select...: decided at deployment.
        return [this.#unknown()];
    }
  }

  #ref(name: string, depth: number): Atom[] {
    const pseudo = DEPLOY_PSEUDO[name];
    if (pseudo !== undefined) return [pseudo];
    if (name.startsWith('AWS::')) return [token(name)];
    if (this.#template.parameters.has(name)) return [token(`parameter ${name}`)];
    const resource = this.#template.resources.get(name);
    if (resource?.type === 'AWS::SecretsManager::Secret') return this.#secretArn(resource, depth);
    if (resource?.type === 'AWS::KMS::Key') return [token(`key id of ${name}`)];
    return [token(`Ref ${name}`)];
  }

  #getAtt(name: string, attribute: string, depth: number): Atom[] {
    const resource = this.#template.resources.get(name);
    // A secret's Id attribute is its ARN, like its Ref.
    if (resource?.type === 'AWS::SecretsManager::Secret' && attribute === 'Id') return this.#secretArn(resource, depth);
    if (resource?.type === 'AWS::KMS::Key' && attribute === 'Arn') return kmsKeyArn([token(`key id of ${name}`)]);
    if (resource?.type === 'AWS::KMS::Key' && attribute === 'KeyId') return [token(`key id of ${name}`)];
    return [token(`${name}.${attribute}`)];
  }

  #secretArn(resource: TemplateResource, depth: number): Atom[] {
    const name = resource.properties.Name;
    // Without a Name, CloudFormation generates one: equal only to itself.
    if (name === undefined) return [...secretArnPrefix(), token(`name of ${resource.logicalId}`)];
    return secretArnForName(new PatternBuilder(this.#template, 'request').value(name, depth + 1));
  }

  #sub(argument: TemplateValue, depth: number): Atom[] {
    const [text, variables] = typeof argument === 'string' ? [argument, {}] : Array.isArray(argument) ? argument : [];
    if (typeof text !== 'string') return [this.#unknown()];
    const atoms: Atom[] = [];
    const placeholder = /\$\{([^}]*)\}/g;
    let last = 0;
    for (let match = placeholder.exec(text); match !== null; match = placeholder.exec(text)) {
      atoms.push(...literal(text.slice(last, match.index), this.#side === 'policy'));
      last = match.index + match[0].length;
      const name = match[1]!.trim();
      if (name.startsWith('!')) {
        // `${!Literal}` is the text `${Literal}`.
        atoms.push(...literal(`\${${name.slice(1)}}`));
      } else if (typeof variables === 'object' && variables !== null && Object.hasOwn(variables, name)) {
        atoms.push(...this.value((variables as Record<string, TemplateValue>)[name], depth + 1));
      } else if (name.includes('.') && !name.startsWith('AWS::')) {
        const dot = name.indexOf('.');
        atoms.push(...this.#getAtt(name.slice(0, dot), name.slice(dot + 1), depth + 1));
      } else {
        atoms.push(...this.#ref(name, depth + 1));
      }
    }
    atoms.push(...literal(text.slice(last), this.#side === 'policy'));
    return atoms;
  }

  #unknown(): Atom {
    return token(`unknown #${++opaqueCount}`);
  }
}
