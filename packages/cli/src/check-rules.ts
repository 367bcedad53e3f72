import type { FieldInfo, SourceInfo } from '@custom-runtime/config';
import type { FoundDefinition } from './definitions.js';
import { ANY_RESOURCE, grants, type FunctionPermissions, type GrantAnswer } from './iam.js';
import { parameterPathTarget, parameterTarget } from './parameter-target.js';
import { literal, type Pattern } from './patterns.js';
import type { SamFunction } from './sam-functions.js';
import { isDynamicReference, keyArn, secretTarget, type SecretTarget } from './secret-target.js';
import { renderValue, type SamTemplate, type TemplateValue } from './template.js';

/** How much a finding matters: errors fail `check`; warnings fail it with `--strict`; info never does. */
export type FindingLevel = 'error' | 'warning' | 'info';

/** What a finding is about. */
export type FindingCode =
  | 'missing-variable'
  | 'empty-variable'
  | 'optional-variable'
  | 'resolved-reference'
  | 'bad-reference'
  | 'missing-secret-policy'
  | 'unverified-secret-policy'
  | 'missing-batch-policy'
  | 'unverified-batch-policy'
  | 'missing-kms-policy'
  | 'unverified-kms-policy'
  | 'missing-parameter-policy'
  | 'unverified-parameter-policy'
  | 'no-definition'
  | 'code-not-found'
  | 'not-checked';

/** One problem (or note) about one function. Never carries a variable's value. */
export interface Finding {
  readonly level: FindingLevel;
  readonly code: FindingCode;
  /** The function's logical id. */
  readonly function: string;
  /** The definition's export name. */
  readonly definition?: string;
  /** The field's key (several, comma-separated, when one finding covers them). */
  readonly field?: string;
  /** The environment variable concerned. */
  readonly envName?: string;
  readonly message: string;
  /** What to change in the template, as YAML to add where it says. */
  readonly fix?: string;
}

/** Everything known about one function. */
export interface FunctionFacts {
  readonly template: SamTemplate;
  readonly fn: SamFunction;
  /** Variables the image sets with `ENV`. */
  readonly imageEnv: ReadonlyMap<string, string>;
  readonly definitions: readonly FoundDefinition[];
  readonly permissions: FunctionPermissions;
}

/**
 * Variables the Lambda execution environment sets itself (reserved or not), so a definition may
 * read them without declaring them.
 */
export function isSetByLambda(name: string): boolean {
  return (
    (name.startsWith('AWS_LAMBDA_') && name !== 'AWS_LAMBDA_EXEC_WRAPPER') ||
    LAMBDA_SET.has(name)
  );
}

const LAMBDA_SET = new Set([
  'AWS_REGION', 'AWS_DEFAULT_REGION', 'AWS_EXECUTION_ENV', '_HANDLER', '_X_AMZN_TRACE_ID',
  'LAMBDA_TASK_ROOT', 'LAMBDA_RUNTIME_DIR', 'TZ', 'LANG', 'PATH', 'LD_LIBRARY_PATH', 'NODE_PATH',
  'AWS_ACCESS_KEY', 'AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY', 'AWS_SESSION_TOKEN',
  'AWS_CONTAINER_CREDENTIALS_FULL_URI', 'AWS_CONTAINER_AUTHORIZATION_TOKEN',
  'AWS_XRAY_CONTEXT_MISSING', 'AWS_XRAY_DAEMON_ADDRESS', '_AWS_XRAY_DAEMON_ADDRESS', '_AWS_XRAY_DAEMON_PORT',
]);

/** Where a variable comes from at run time. */
type Declaration =
  | { readonly from: 'template'; readonly value: TemplateValue }
  | { readonly from: 'image'; readonly value: string }
  | { readonly from: 'lambda' };

/** The findings for one function with its definitions. */
export function checkFunction(facts: FunctionFacts): Finding[] {
  return new FunctionCheck(facts).run();
}

class FunctionCheck {
  readonly #facts: FunctionFacts;
  readonly #findings: Finding[] = [];
  readonly #id: string;

  constructor(facts: FunctionFacts) {
    this.#facts = facts;
    this.#id = facts.fn.logicalId;
  }

  run(): Finding[] {
    const { fn, definitions } = this.#facts;
    if (fn.variables === undefined) {
      this.#add({ level: 'warning', code: 'not-checked', message: 'Environment.Variables is an intrinsic function: the variables were not checked' });
    }
    for (const definition of definitions) {
      for (const field of definition.fields) this.#checkVariables(definition, field);
    }
    this.#checkSecrets();
    this.#checkKms();
    this.#checkParameters();
    return this.#findings;
  }

  #add(finding: Omit<Finding, 'function'>): void {
    this.#findings.push({ function: this.#id, ...finding });
  }

  #declaration(name: string): Declaration | undefined {
    const variables = this.#facts.fn.variables;
    if (variables?.has(name) === true) return { from: 'template', value: variables.get(name) };
    // Lambda's configured variables override the image's ENV, which applies only when not configured.
    const image = this.#facts.imageEnv.get(name);
    if (image !== undefined) return { from: 'image', value: image };
    if (isSetByLambda(name)) return { from: 'lambda' };
    // Variables that cannot be read are not reported missing.
    return variables === undefined ? { from: 'template', value: { unknown: true } } : undefined;
  }

  #checkVariables(definition: FoundDefinition, field: FieldInfo): void {
    const firstDynamic = field.sources.findIndex(isFromEvent);
    const fixed = firstDynamic === -1 ? field.sources : field.sources.slice(0, firstDynamic);
    const read = fixed.flatMap((source) => {
      const name = envNameOf(source);
      return name === undefined ? [] : [{ name, source, declaration: this.#declaration(name) }];
    });
    const present = fixed.some(isLiteralReference) || read.some((r) => r.declaration !== undefined && !isEmpty(r.declaration));
    const undeclared = read.filter((r) => r.declaration === undefined);
    if (!present && !field.acceptsAbsent && firstDynamic === -1) {
      if (undeclared.length > 0) {
        const names = undeclared.map((r) => r.name);
        this.#add({
          level: 'error',
          code: 'missing-variable',
          definition: definition.exportName,
          field: field.key,
          envName: names.join(', '),
          message: `${field.key} (${undeclared.map((r) => r.source.location).join(' | ')}) is required, but the function does not declare ${names.join(' or ')}`,
          fix: `add ${names.length > 1 ? 'one of them ' : ''}to Resources.${this.#id}.Properties.Environment.Variables (or Globals.Function.Environment.Variables):\n${names.map((n) => `  ${n}: ...`).join('\n')}`,
        });
      } else {
        const names = read.map((r) => r.name);
        this.#add({
          level: 'error',
          code: 'empty-variable',
          definition: definition.exportName,
          field: field.key,
          envName: names.join(', '),
          message: `${field.key} is required, but ${names.join(' and ')} ${names.length > 1 ? 'are' : 'is'} declared empty (an empty variable counts as unset)`,
          fix: `give ${names.join(' or ')} a value in Resources.${this.#id}.Properties.Environment.Variables`,
        });
      }
      return;
    }
    for (const { name, source } of undeclared) {
      const why = present ? 'another source of the field is declared' : field.acceptsAbsent ? 'the field is optional or has a default' : 'the event may fill it';
      this.#add({
        level: 'info',
        code: 'optional-variable',
        definition: definition.exportName,
        field: field.key,
        envName: name,
        message: `${field.key} (${source.location}): ${name} is not declared; ${why}`,
      });
    }
  }

  #checkSecrets(): void {
    const { template, permissions } = this.#facts;
    // One check per reference variable (or literal reference), however many fields share it.
    const groups = new Map<string, { target: SecretTarget; fields: string[]; envName: string | undefined; definition: string; shown: string; batched: boolean }>();
    for (const { definition, field, source } of this.#sources('secretsmanager')) {
      if (source.kind !== 'secretsmanager') continue;
      let value: TemplateValue;
      let shown: string;
      if (source.envName !== undefined) {
        const declaration = this.#declaration(source.envName);
        if (declaration === undefined || declaration.from === 'lambda' || isEmpty(declaration) || isUnknown(declaration)) continue;
        if (declaration.from === 'template' && isDynamicReference(declaration.value, template)) {
          this.#resolvedReference(definition, field.key, source.envName);
          continue;
        }
        value = declaration.value;
        shown = `via env ${source.envName} = ${declaration.from === 'image' ? `${displayLiteral(declaration.value)} (Dockerfile ENV)` : renderValue(value)}`;
      } else {
        value = source.reference!;
        shown = `${displayLiteral(source.reference!)} (in code)`;
      }
      const key = source.envName !== undefined ? `env ${source.envName}` : `reference ${source.reference!}`;
      const target = secretTarget(template, value, source);
      const group = groups.get(key);
      if (group !== undefined) {
        if (!group.fields.includes(field.key)) group.fields.push(field.key);
        // Version options are per field: the batch call is needed if any use has none.
        if (!('error' in target) && !target.versioned) group.batched = true;
        continue;
      }
      if ('error' in target) {
        this.#add({
          level: 'error',
          code: 'bad-reference',
          definition,
          field: field.key,
          ...(source.envName !== undefined && { envName: source.envName }),
          message: `${field.key} (${source.location}): the value is not a secret reference: ${target.error}`,
          fix: 'set it to the secret\'s ARN (e.g. !Ref YourSecret) or name',
        });
        continue;
      }
      groups.set(key, { target, fields: [field.key], envName: source.envName, definition, shown, batched: !target.versioned });
    }
    let batchNeeded = false;
    for (const group of groups.values()) {
      if (group.batched) batchNeeded = true;
      const answer = grants(permissions, 'secretsmanager:GetSecretValue', group.target.arn);
      this.#report(answer, {
        definition: group.definition,
        field: group.fields.join(', '),
        envName: group.envName,
        what: `${group.fields.join(', ')} (secret ${group.shown})`,
        action: 'secretsmanager:GetSecretValue',
        missing: 'missing-secret-policy',
        unverified: 'unverified-secret-policy',
        fix: this.#policyFix(
          `  - AWSSecretsManagerGetSecretValuePolicy:\n      SecretArn: ${group.target.policyResource}`,
          'secretsmanager:GetSecretValue',
          group.target.policyResource,
        ),
      });
      if (group.target.kmsKey !== undefined) {
        this.#report(grants(permissions, 'kms:Decrypt', group.target.kmsKey), {
          definition: group.definition,
          field: group.fields.join(', '),
          envName: group.envName,
          what: `${group.fields.join(', ')} (secret ${group.shown}, encrypted with its KmsKeyId)`,
          action: 'kms:Decrypt',
          missing: 'missing-kms-policy',
          unverified: 'unverified-kms-policy',
          fix: this.#kmsFix(undefined),
        });
      }
    }
    if (batchNeeded) {
      const answer = grants(permissions, 'secretsmanager:BatchGetSecretValue', ANY_RESOURCE);
      if (answer.answer !== 'yes') {
        const cost = 'the config layer fetches each secret with its own GetSecretValue call instead (more calls, a slower init; still correct)';
        this.#add({
          level: 'warning',
          code: answer.answer === 'no' ? 'missing-batch-policy' : 'unverified-batch-policy',
          message:
            answer.answer === 'no'
              ? `no statement grants secretsmanager:BatchGetSecretValue on Resource '*' (the action has no resource-level permissions): ${cost}`
              : `cannot tell whether secretsmanager:BatchGetSecretValue is granted (${answer.reason ?? 'unreadable policies'}); without it, ${cost}`,
          fix: this.#policyFix(
            "  - Statement:\n      - Effect: Allow\n        Action: secretsmanager:BatchGetSecretValue\n        Resource: '*'",
            'secretsmanager:BatchGetSecretValue',
            "'*'",
          ),
        });
      }
    }
  }

  #checkKms(): void {
    for (const { definition, field, source } of this.#sources('kms')) {
      if (source.kind !== 'kms') continue;
      if (source.envName !== undefined) {
        const declaration = this.#declaration(source.envName);
        // Undeclared: reported with the variables, or the field does without it.
        if (declaration === undefined || declaration.from === 'lambda') continue;
      }
      // Without a keyId the key is not in the code or the template: any kms:Decrypt grant will do.
      const key: Pattern | 'any' = source.keyId === undefined ? 'any' : keyArn(literal(source.keyId));
      const answer = grants(this.#facts.permissions, 'kms:Decrypt', key);
      this.#report(answer, {
        definition,
        field: field.key,
        envName: source.envName,
        what: `${field.key} (${source.location})`,
        action: 'kms:Decrypt',
        missing: 'missing-kms-policy',
        unverified: 'unverified-kms-policy',
        fix: this.#kmsFix(source.keyId),
      });
    }
  }

  // Parameter Store: ssm:GetParameters on each parameter's ARN (ssm:GetParametersByPath on a
  // path's own), kms:Decrypt on a customer managed key the field declares.
  #checkParameters(): void {
    const seen = new Set<string>();
    for (const { definition, field, source } of [...this.#sources('ssm'), ...this.#sources('ssm-path')]) {
      if (source.kind !== 'ssm' && source.kind !== 'ssm-path') continue;
      const literalValue = source.kind === 'ssm' ? source.reference : source.path;
      let value: TemplateValue;
      let shown: string;
      if (source.envName !== undefined) {
        const declaration = this.#declaration(source.envName);
        if (declaration === undefined || declaration.from === 'lambda' || isEmpty(declaration) || isUnknown(declaration)) continue;
        if (declaration.from === 'template' && isDynamicReference(declaration.value)) {
          this.#resolvedReference(definition, field.key, source.envName, 'ssm');
          continue;
        }
        value = declaration.value;
        shown = `via env ${source.envName} = ${declaration.from === 'image' ? `${displayLiteral(declaration.value)} (Dockerfile ENV)` : renderValue(value)}`;
      } else {
        value = literalValue!;
        shown = `${displayLiteral(literalValue!)} (in code)`;
      }
      const key = `${source.kind} ${source.envName ?? `literal ${literalValue!}`} ${field.key}`;
      if (seen.has(key)) continue;
      seen.add(key);
      const path = source.kind === 'ssm-path';
      const target = path ? parameterPathTarget(this.#facts.template, value) : parameterTarget(this.#facts.template, value);
      if ('error' in target) {
        this.#add({
          level: 'error',
          code: 'bad-reference',
          definition,
          field: field.key,
          ...(source.envName !== undefined && { envName: source.envName }),
          message: `${field.key} (${source.location}): the value is not a parameter ${path ? 'path' : 'reference'}: ${target.error}`,
          fix: path ? 'set it to the hierarchy to read, e.g. /app/prod/' : "set it to the parameter's name (e.g. !Ref YourParameter) or ARN",
        });
        continue;
      }
      const action = path ? 'ssm:GetParametersByPath' : 'ssm:GetParameters';
      this.#report(grants(this.#facts.permissions, action, target.arn), {
        definition,
        field: field.key,
        envName: source.envName,
        what: `${field.key} (parameter ${path ? 'path ' : ''}${shown})`,
        action,
        missing: 'missing-parameter-policy',
        unverified: 'unverified-parameter-policy',
        fix: this.#policyFix(
          `  - SSMParameterReadPolicy:\n      ParameterName: ${target.policyName}`,
          action,
          `!Sub 'arn:\${AWS::Partition}:ssm:\${AWS::Region}:\${AWS::AccountId}:parameter/${target.policyName}'`,
        ),
      });
      if (source.keyId !== undefined) {
        this.#report(grants(this.#facts.permissions, 'kms:Decrypt', keyArn(literal(source.keyId))), {
          definition,
          field: field.key,
          envName: source.envName,
          what: `${field.key} (SecureString ${shown}, encrypted with ${source.keyId})`,
          action: 'kms:Decrypt',
          missing: 'missing-kms-policy',
          unverified: 'unverified-kms-policy',
          fix: this.#kmsFix(source.keyId),
        });
      }
    }
  }

  #report(
    answer: GrantAnswer,
    finding: {
      definition: string;
      field: string;
      envName: string | undefined;
      what: string;
      action: string;
      missing: FindingCode;
      unverified: FindingCode;
      fix: string;
    },
  ): void {
    if (answer.answer === 'yes') return;
    const common = {
      definition: finding.definition,
      field: finding.field,
      ...(finding.envName !== undefined && { envName: finding.envName }),
      fix: finding.fix,
    };
    if (answer.answer === 'no') {
      this.#add({
        level: 'error',
        code: finding.missing,
        ...common,
        message: `${finding.what}: ${answer.reason !== undefined ? `${finding.action} is ${answer.reason}` : `no policy grants ${finding.action} on it`}`,
      });
    } else {
      this.#add({ level: 'warning', code: finding.unverified, ...common, message: `${finding.what}: cannot tell whether ${finding.action} is granted: ${answer.reason ?? ''}` });
    }
  }

  #policyFix(samPolicy: string, action: string, resource: string): string {
    if (this.#facts.fn.resource.properties.Role !== undefined) {
      return `add to the policy of the function's Role:\n  - Effect: Allow\n    Action: ${action}\n    Resource: ${resource}`;
    }
    return `add to Resources.${this.#id}.Properties.Policies:\n${samPolicy}`;
  }

  #kmsFix(keyId: string | undefined): string {
    const keys = [...this.#facts.template.resources.values()].filter((r) => r.type === 'AWS::KMS::Key');
    const id =
      keyId !== undefined && !keyId.includes('alias/')
        ? keyId.slice(keyId.lastIndexOf('/') + 1)
        : keys.length === 1
          ? `!Ref ${keys[0]!.logicalId}`
          : '<id of the key that encrypted the value>';
    const arn = id.startsWith('!Ref ') ? `!GetAtt ${id.slice(5)}.Arn` : `!Sub 'arn:\${AWS::Partition}:kms:\${AWS::Region}:\${AWS::AccountId}:key/${id}'`;
    return this.#policyFix(`  - KMSDecryptPolicy:\n      KeyId: ${id}`, 'kms:Decrypt', arn);
  }

  #resolvedReference(definition: string, field: string, envName: string, service: 'secretsmanager' | 'ssm' = 'secretsmanager'): void {
    // One finding per variable, naming every field that reads it.
    const index = this.#findings.findIndex((f) => f.code === 'resolved-reference' && f.envName === envName);
    const what = service === 'ssm' ? "{{resolve:ssm:...}} dynamic reference, which CloudFormation replaces with the parameter's value" : "{{resolve:secretsmanager:...}} dynamic reference, which CloudFormation replaces with the secret's value";
    const instead = service === 'ssm' ? "the parameter's name or ARN instead, e.g. " + envName + ': !Ref YourParameter' : "the secret's ARN or name instead, e.g. " + envName + ': !Ref YourSecret';
    const fields = index === -1 ? [field] : [...(this.#findings[index]!.field ?? '').split(', '), field];
    const finding: Finding = {
      function: this.#id,
      level: 'error',
      code: 'resolved-reference',
      definition,
      field: fields.join(', '),
      envName,
      message:
        `${fields.join(', ')} (${service} via env ${envName}): the template sets ${envName} to a ${what} ` +
        'at deployment: the function would get the value (visible in its configuration), not a reference',
      fix: `set ${envName} to ${instead}`,
    };
    if (index === -1) this.#findings.push(finding);
    else this.#findings[index] = finding;
  }

  *#sources(kind: SourceInfo['kind']): Generator<{ definition: string; field: FieldInfo; source: SourceInfo }> {
    for (const definition of this.#facts.definitions) {
      for (const field of definition.fields) {
        for (const source of field.sources) if (source.kind === kind) yield { definition: definition.exportName, field, source };
      }
    }
  }
}

function isFromEvent(source: SourceInfo): boolean {
  return source.kind === 'payload' || (source.kind === 'kms' && source.payloadPath !== undefined);
}

function envNameOf(source: SourceInfo): string | undefined {
  switch (source.kind) {
    case 'env':
      return source.name;
    case 'secretsmanager':
    case 'kms':
    case 'ssm':
    case 'ssm-path':
      return source.envName;
    case 'payload':
      return undefined;
  }
}

// Written in code: the field does not depend on a variable.
function isLiteralReference(source: SourceInfo): boolean {
  return (
    (source.kind === 'secretsmanager' && source.reference !== undefined) ||
    (source.kind === 'ssm' && source.reference !== undefined) ||
    (source.kind === 'ssm-path' && source.path !== undefined)
  );
}

function isEmpty(declaration: Declaration): boolean {
  return declaration.from !== 'lambda' && declaration.value === '';
}

function isUnknown(declaration: Declaration): boolean {
  return declaration.from === 'template' && typeof declaration.value === 'object' && declaration.value !== null && 'unknown' in declaration.value;
}

/** A literal reference for a message: it names a secret, it is not one (the config layer shows them too). */
function displayLiteral(text: string): string {
  return JSON.stringify(text.length > 120 ? `${text.slice(0, 117)}...` : text);
}

