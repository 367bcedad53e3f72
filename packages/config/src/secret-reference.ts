/** A parsed Secrets Manager reference. */
export interface SecretReference {
  /** What is sent as `SecretId`: the name, full ARN or partial ARN as written. */
  readonly secretId: string;
  /** How `secretId` was written. A partial ARN lacks the 6-character suffix. */
  readonly form: 'name' | 'arn' | 'partial-arn';
  /** Key of a JSON secret whose value is wanted. */
  readonly jsonKey: string | undefined;
  /** Version staging label (e.g. `AWSPREVIOUS`); exclusive with `versionId`. */
  readonly versionStage: string | undefined;
  /** Version id; exclusive with `versionStage`. */
  readonly versionId: string | undefined;
}

/** A reference that does not follow the grammar; the message says which part is wrong. */
export class SecretReferenceError extends Error {
  /** @internal */
  constructor(message: string) {
    super(message);
  }
}
Object.defineProperty(SecretReferenceError.prototype, 'name', { value: 'SecretReferenceError' });

const NAME = /^[A-Za-z0-9/_+=.@-]{1,512}$/;
const PARTITION = /^aws(-[a-z]+)*$/;
const REGION = /^[a-z0-9-]+$/;
const ACCOUNT = /^\d{12}$/;
const SUFFIX = /-[A-Za-z0-9]{6}$/;
const DYNAMIC = /^\{\{resolve:([a-z-]+):(.*)\}\}$/s;

/**
 * Parses a secret reference:
 *
 * ```text
 * reference   = dynamic | plain
 * dynamic     = "{{resolve:secretsmanager:" plain "}}"
 * plain       = secret-id [ ":SecretString" [ ":" json-key [ ":" version-stage [ ":" version-id ] ] ] ]
 * secret-id   = name | "arn:" partition ":secretsmanager:" region ":" account ":secret:" name [ "-" 6 chars ]
 * ```
 *
 * Empty segments are allowed (`my-secret:SecretString::AWSPREVIOUS`). A name can't contain `:`.
 *
 * @throws {@link SecretReferenceError} naming the offending part without echoing the input
 */
export function parseSecretReference(input: string): SecretReference {
  let text = input.trim();
  if (text === '') throw new SecretReferenceError('the reference is empty');

  if (text.startsWith('{{')) {
    const match = DYNAMIC.exec(text);
    if (match === null) {
      throw new SecretReferenceError('a dynamic reference must look like {{resolve:secretsmanager:...}}');
    }
    if (match[1] !== 'secretsmanager') {
      throw new SecretReferenceError(
        `only secretsmanager dynamic references are supported, not "${match[1] ?? ''}"`,
      );
    }
    text = match[2] ?? '';
  }

  const parts = text.split(':');
  let secretId: string;
  let form: SecretReference['form'];
  let rest: string[];
  if (parts[0] === 'arn') {
    if (parts.length < 7) {
      throw new SecretReferenceError(
        'an ARN must look like arn:<partition>:secretsmanager:<region>:<account>:secret:<name>',
      );
    }
    const [, partition = '', service, region = '', account = '', resource, name = ''] = parts;
    if (!PARTITION.test(partition)) throw new SecretReferenceError(`"${partition}" is not an AWS partition`);
    if (service !== 'secretsmanager') {
      throw new SecretReferenceError(`the ARN's service is "${service ?? ''}", not "secretsmanager"`);
    }
    if (!REGION.test(region)) throw new SecretReferenceError('the ARN has no valid region');
    if (!ACCOUNT.test(account)) throw new SecretReferenceError('the ARN has no valid 12-digit account id');
    if (resource !== 'secret') {
      throw new SecretReferenceError(`the ARN's resource type is "${resource ?? ''}", not "secret"`);
    }
    checkName(name);
    secretId = parts.slice(0, 7).join(':');
    // A name may itself end in "-" + 6 characters; such an ARN is taken as a full one.
    form = SUFFIX.test(name) ? 'arn' : 'partial-arn';
    rest = parts.slice(7);
  } else {
    const name = parts[0] ?? '';
    checkName(name);
    secretId = name;
    form = 'name';
    rest = parts.slice(1);
  }

  if (rest.length === 0) {
    return { secretId, form, jsonKey: undefined, versionStage: undefined, versionId: undefined };
  }
  if (rest[0] !== 'SecretString') {
    // Not echoed: a mistyped reference may hold something that should not be logged.
    throw new SecretReferenceError('expected "SecretString" as the segment after the secret id');
  }
  if (rest.length > 4) {
    throw new SecretReferenceError(
      'too many segments: expected <secret-id>:SecretString:<json-key>:<version-stage>:<version-id>',
    );
  }
  const jsonKey = rest[1] || undefined;
  const versionStage = rest[2] || undefined;
  const versionId = rest[3] || undefined;
  if (versionStage !== undefined && versionId !== undefined) {
    throw new SecretReferenceError('give a version stage or a version id, not both');
  }
  return { secretId, form, jsonKey, versionStage, versionId };
}

function checkName(name: string): void {
  if (name === '') throw new SecretReferenceError('the secret name is empty');
  if (!NAME.test(name)) {
    throw new SecretReferenceError(
      'a secret name is 1-512 characters among letters, digits and /_+=.@-',
    );
  }
}
