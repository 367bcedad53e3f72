import { actionMatches, best, literal, matchPattern, worst, type Match, type Pattern } from './patterns.js';
import type { SamFunction } from './sam-functions.js';
import { intrinsic, isRecord, renderValue, type SamTemplate, type TemplateResource, type TemplateValue } from './template.js';
import { kmsKeyArn, patternOf } from './template-patterns.js';

/** One IAM statement, its resources as patterns; `undefined` parts are not readable from the template. */
export interface PolicyStatement {
  readonly effect: 'Allow' | 'Deny';
  /** `Action` (or `NotAction` when `notAction`) patterns; `undefined` if an intrinsic. */
  readonly actions: readonly string[] | undefined;
  readonly notAction: boolean;
  /** `Resource` (or `NotResource`) patterns; `undefined` if unreadable. */
  readonly resources: readonly Pattern[] | undefined;
  readonly notResource: boolean;
  /** The statement has a `Condition`, which `check` cannot evaluate. */
  readonly conditional: boolean;
  /** Where it comes from, for messages: `Policies[1] (AWSSecretsManagerGetSecretValuePolicy)`. */
  readonly origin: string;
}

/** The permissions of a function's execution role, as far as the template shows them. */
export interface FunctionPermissions {
  readonly statements: readonly PolicyStatement[];
  /** Policies or roles defined outside the template (or not readable): they may grant anything. */
  readonly opaque: readonly string[];
}

/** Whether the role may call `action` on a resource, and why not when it is not a `yes`. */
export interface GrantAnswer {
  readonly answer: Match;
  /** For `maybe`: what could not be read. For `no` by a `Deny`: which statement. */
  readonly reason: string | undefined;
}

// AWS managed policies that grant neither Secrets Manager, Parameter Store nor KMS actions: no doubt from them.
const UNRELATED_MANAGED_POLICIES = new Set([
  'AWSLambdaBasicExecutionRole',
  'AWSLambdaVPCAccessExecutionRole',
  'AWSLambdaENIManagementAccess',
  'AWSXRayDaemonWriteAccess',
  'AWSXrayWriteOnlyAccess',
  'CloudWatchLambdaInsightsExecutionRolePolicy',
  'AWSLambdaSQSQueueExecutionRole',
  'AWSLambdaDynamoDBExecutionRole',
  'AWSLambdaKinesisExecutionRole',
  'AWSLambdaMSKExecutionRole',
]);

/**
 * The statements of a function's execution role: SAM's `Policies` (policy templates
 * `AWSSecretsManagerGetSecretValuePolicy`, `AWSSecretsManagerRotationPolicy`, `KMSDecryptPolicy`,
 * `SSMParameterReadPolicy` and `SSMParameterWithSlashPrefixReadPolicy` are expanded as SAM
 * expands them; other policy templates grant none of the actions `check` asks about), or, when `Role` names an `AWS::IAM::Role` of the template, that
 * role's inline and attached policies.
 */
export function functionPermissions(template: SamTemplate, fn: SamFunction): FunctionPermissions {
  const reader = new PolicyReader(template);
  const role = fn.resource.properties.Role;
  if (role !== undefined) reader.role(role);
  else reader.samPolicies(fn.resource.properties.Policies);
  return { statements: reader.statements, opaque: reader.opaque };
}

/**
 * Whether `permissions` let the role call `action` on `resource`: a request pattern, the literal
 * `*` for actions without resource-level permissions (`secretsmanager:BatchGetSecretValue`), or
 * `'any'` when the resource is not known (a ciphertext's key) and any grant of the action will do.
 */
export function grants(permissions: FunctionPermissions, action: string, resource: Pattern | 'any'): GrantAnswer {
  let allowed: Match = 'no';
  let doubt: string | undefined;
  for (const statement of permissions.statements) {
    const applies = statementApplies(statement, action, resource);
    if (applies === 'no') continue;
    if (statement.effect === 'Deny') {
      if (applies === 'yes') return { answer: 'no', reason: `denied by ${statement.origin}` };
      continue;
    }
    if (applies === 'maybe' && allowed !== 'yes') doubt ??= statement.origin;
    allowed = best(allowed, applies);
  }
  if (allowed === 'yes') return { answer: 'yes', reason: undefined };
  if (permissions.opaque.length > 0) return { answer: 'maybe', reason: `${permissions.opaque.join(', ')} cannot be read from the template` };
  if (allowed === 'maybe') return { answer: 'maybe', reason: `${doubt ?? 'a statement'} depends on values the template does not show` };
  return { answer: 'no', reason: undefined };
}

function statementApplies(statement: PolicyStatement, action: string, resource: Pattern | 'any'): Match {
  let actionMatch: Match;
  if (statement.actions === undefined) actionMatch = 'maybe';
  else {
    const named = statement.actions.some((pattern) => actionMatches(pattern, action));
    actionMatch = named !== statement.notAction ? 'yes' : 'no';
  }
  if (actionMatch === 'no') return 'no';
  let resourceMatch: Match;
  if (statement.resources === undefined) resourceMatch = 'maybe';
  else if (resource === 'any') {
    // Some resource, unknown which: an Allow of any resource may be it; a Deny only of `*` surely is.
    const everything = statement.resources.some((p) => p.length === 1 && p[0]!.kind === 'any');
    resourceMatch = statement.notResource ? 'maybe' : statement.effect === 'Allow' || everything ? 'yes' : 'maybe';
  } else {
    resourceMatch = statement.resources.reduce<Match>((found, pattern) => best(found, matchPattern(pattern, resource)), 'no');
    if (statement.notResource) resourceMatch = resourceMatch === 'yes' ? 'no' : resourceMatch === 'no' ? 'yes' : 'maybe';
  }
  return worst(worst(actionMatch, resourceMatch), statement.conditional ? 'maybe' : 'yes');
}

class PolicyReader {
  readonly statements: PolicyStatement[] = [];
  readonly opaque: string[] = [];
  readonly #template: SamTemplate;

  constructor(template: SamTemplate) {
    this.#template = template;
  }

  samPolicies(policies: TemplateValue): void {
    if (policies === undefined) return;
    if (typeof policies === 'string' || (isRecord(policies) && (intrinsic(policies) !== undefined || 'Statement' in policies))) {
      this.#samPolicy(policies, 'Policies');
      return;
    }
    if (!Array.isArray(policies)) {
      this.opaque.push('Policies');
      return;
    }
    policies.forEach((policy, index) => this.#samPolicy(policy, `Policies[${index}]`));
  }

  role(role: TemplateValue): void {
    const resource = this.#roleResource(role);
    if (resource === undefined) {
      this.opaque.push(`the role ${renderValue(role)}`);
      return;
    }
    const origin = `role ${resource.logicalId}`;
    const inline = resource.properties.Policies;
    if (Array.isArray(inline)) {
      inline.forEach((policy, index) => this.#document(isRecord(policy) ? policy.PolicyDocument : undefined, `${origin} Policies[${index}]`));
    } else if (inline !== undefined) this.opaque.push(`${origin} Policies`);
    const managed = resource.properties.ManagedPolicyArns;
    if (Array.isArray(managed)) managed.forEach((arn, index) => this.#managed(arn, `${origin} ManagedPolicyArns[${index}]`));
    else if (managed !== undefined) this.opaque.push(`${origin} ManagedPolicyArns`);
    // Policies attached to the role from elsewhere in the template.
    for (const other of this.#template.resources.values()) {
      const attachedTo = (list: TemplateValue): boolean => Array.isArray(list) && list.some((item) => this.#refersTo(item, resource.logicalId));
      if ((other.type === 'AWS::IAM::Policy' || other.type === 'AWS::IAM::ManagedPolicy') && attachedTo(other.properties.Roles)) {
        this.#document(other.properties.PolicyDocument, other.logicalId);
      } else if (other.type === 'AWS::IAM::RolePolicy' && this.#refersTo(other.properties.RoleName, resource.logicalId)) {
        this.#document(other.properties.PolicyDocument, other.logicalId);
      }
    }
  }

  #samPolicy(policy: TemplateValue, origin: string): void {
    if (typeof policy === 'string' || intrinsic(policy) !== undefined) {
      this.#managed(policy, origin);
      return;
    }
    if (!isRecord(policy)) {
      this.opaque.push(origin);
      return;
    }
    if ('Statement' in policy) {
      this.#document(policy, origin);
      return;
    }
    const [name, parameters] = Object.entries(policy)[0] ?? [];
    const parameter = (key: string): TemplateValue => (isRecord(parameters) ? parameters[key] : undefined);
    const named = `${origin} (${name ?? 'empty'})`;
    switch (name) {
      case 'AWSSecretsManagerGetSecretValuePolicy':
        this.#push(allow(['secretsmanager:GetSecretValue'], [patternOf(this.#template, parameter('SecretArn'), 'policy')], named));
        break;
      case 'KMSDecryptPolicy':
        this.#push(allow(['kms:Decrypt'], [kmsKeyArn(patternOf(this.#template, parameter('KeyId'), 'policy'))], named));
        break;
      case 'SSMParameterReadPolicy':
      case 'SSMParameterWithSlashPrefixReadPolicy': {
        // samtranslator/policy_templates_data/policy_templates.json: DescribeParameters on '*',
        // the three reads on parameter/${ParameterName} (the slash variant: parameter${ParameterName}).
        const slash = name === 'SSMParameterReadPolicy' ? '/' : '';
        this.#push(allow(['ssm:DescribeParameters'], [literal('*', true)], named));
        const resource = {
          'Fn::Sub': [`arn:\${AWS::Partition}:ssm:\${AWS::Region}:\${AWS::AccountId}:parameter${slash}\${parameterName}`, { parameterName: parameter('ParameterName') }],
        };
        this.#push(allow(['ssm:GetParameters', 'ssm:GetParameter', 'ssm:GetParametersByPath'], [patternOf(this.#template, resource, 'policy')], named));
        break;
      }
      case 'AWSSecretsManagerRotationPolicy':
        // Only for the rotation function named in its condition: not a grant `check` can rely on.
        this.#push({
          ...allow(['secretsmanager:GetSecretValue'], [patternOf(this.#template, { 'Fn::Sub': 'arn:${AWS::Partition}:secretsmanager:${AWS::Region}:${AWS::AccountId}:secret:*' }, 'policy')], named),
          conditional: true,
        });
        break;
      default:
        // Other SAM policy templates grant neither Secrets Manager or Parameter Store reads nor kms:Decrypt.
        break;
    }
  }

  #managed(arn: TemplateValue, origin: string): void {
    const fn = intrinsic(arn);
    if (fn?.name === 'Ref' && typeof fn.argument === 'string') {
      const resource = this.#template.resources.get(fn.argument);
      if (resource?.type === 'AWS::IAM::ManagedPolicy') {
        this.#document(resource.properties.PolicyDocument, resource.logicalId);
        return;
      }
    }
    if (typeof arn === 'string') {
      const name = arn.slice(arn.lastIndexOf('/') + 1);
      if (UNRELATED_MANAGED_POLICIES.has(name)) return;
      this.opaque.push(`the managed policy ${name}`);
      return;
    }
    this.opaque.push(`${origin} (${renderValue(arn)})`);
  }

  #document(document: TemplateValue, origin: string): void {
    const statements = isRecord(document) ? document.Statement : undefined;
    const list = Array.isArray(statements) ? statements : isRecord(statements) ? [statements] : undefined;
    if (list === undefined || intrinsic(statements) !== undefined) {
      this.opaque.push(origin);
      return;
    }
    list.forEach((statement, index) => {
      const where = list.length > 1 || Array.isArray(statements) ? `${origin} Statement[${index}]` : origin;
      if (!isRecord(statement) || intrinsic(statement) !== undefined) {
        this.opaque.push(where);
        return;
      }
      const notAction = statement.Action === undefined && statement.NotAction !== undefined;
      const notResource = statement.Resource === undefined && statement.NotResource !== undefined;
      this.#push({
        effect: statement.Effect === 'Deny' ? 'Deny' : 'Allow',
        actions: stringList(notAction ? statement.NotAction : statement.Action),
        notAction,
        resources: this.#resources(notResource ? statement.NotResource : statement.Resource),
        notResource,
        conditional: statement.Condition !== undefined,
        origin: where,
      });
    });
  }

  #resources(value: TemplateValue): Pattern[] | undefined {
    if (value === undefined) return undefined;
    const list = Array.isArray(value) ? value : [value];
    return list.map((item) => patternOf(this.#template, item, 'policy'));
  }

  #push(statement: PolicyStatement): void {
    this.statements.push(statement);
  }

  #roleResource(role: TemplateValue): TemplateResource | undefined {
    const fn = intrinsic(role);
    let name: string | undefined;
    if (fn?.name === 'Fn::GetAtt' && Array.isArray(fn.argument) && typeof fn.argument[0] === 'string') name = fn.argument[0];
    else if (fn?.name === 'Ref' && typeof fn.argument === 'string') name = fn.argument;
    else if (fn?.name === 'Fn::Sub' && typeof fn.argument === 'string') name = /^\$\{([A-Za-z0-9]+)\.Arn\}$/.exec(fn.argument)?.[1];
    const resource = name === undefined ? undefined : this.#template.resources.get(name);
    return resource?.type === 'AWS::IAM::Role' ? resource : undefined;
  }

  #refersTo(value: TemplateValue, logicalId: string): boolean {
    const fn = intrinsic(value);
    return fn?.name === 'Ref' && fn.argument === logicalId;
  }
}

function allow(actions: string[], resources: Pattern[], origin: string): PolicyStatement {
  return { effect: 'Allow', actions, notAction: false, resources, notResource: false, conditional: false, origin };
}

function stringList(value: TemplateValue): string[] | undefined {
  const list = Array.isArray(value) ? value : [value];
  return list.every((item): item is string => typeof item === 'string') ? list : undefined;
}

/** The resource of an action that takes no resource-level permission: IAM compares it with `*`. */
export const ANY_RESOURCE: Pattern = literal('*');
