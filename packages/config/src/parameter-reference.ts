/** A parsed Parameter Store reference. */
export interface ParameterReference {
  /** The parameter name, or the ARN as written (a shared parameter is read by ARN). */
  readonly name: string;
  /** How `name` was written. */
  readonly form: 'name' | 'arn';
  /** Version number; exclusive with `label`. */
  readonly version: number | undefined;
  /** Version label; exclusive with `version`. */
  readonly label: string | undefined;
  /** What is sent in `Names`: `name`, `name:version` or `name:label`. */
  readonly selector: string;
  /**
   * The CloudFormation dynamic reference it was written as, if any: `ssm` reads String and
   * StringList parameters, `ssm-secure` SecureString ones.
   */
  readonly dynamic: 'ssm' | 'ssm-secure' | undefined;
}

/** A reference that does not follow the grammar; the message says which part is wrong. */
export class ParameterReferenceError extends Error {
  /** @internal */
  constructor(message: string) {
    super(message);
  }
}
Object.defineProperty(ParameterReferenceError.prototype, 'name', { value: 'ParameterReferenceError' });

const MAX_NAME_LENGTH = 2048;
const MAX_LEVELS = 15;
const SEGMENT = /^[A-Za-z0-9._-]+$/;
const LABEL = /^[A-Za-z0-9._-]{1,100}$/;
const VERSION = /^[1-9]\d{0,8}$/;
const PARTITION = /^aws(-[a-z]+)*$/;
const REGION = /^[a-z0-9-]+$/;
const ACCOUNT = /^\d{12}$/;
const DYNAMIC = /^\{\{resolve:([a-z-]+):(.*)\}\}$/s;

/**
 * Parses a Parameter Store reference:
 *
 * ```text
 * reference = dynamic | plain
 * dynamic   = "{{resolve:ssm:" id [ ":" version ] "}}" | "{{resolve:ssm-secure:" id [ ":" version ] "}}"
 * plain     = id [ ":" ( version | label ) ]
 * id        = name | "arn:" partition ":ssm:" region ":" account ":parameter/" name-without-leading-slash
 * name      = [ "/" ] segment *( "/" segment )    ; segment: letters, digits, . - _ ; at most 15 levels
 * ```
 *
 * A selector of digits is a version, anything else a label (labels can't start with a digit,
 * Systems Manager's own rule). CloudFormation's dynamic references take a version only
 * (AWSCloudFormation UserGuide, dynamic-references-ssm.html and -ssm-secure-strings.html).
 *
 * @throws {@link ParameterReferenceError} naming the offending part without echoing the input
 */
export function parseParameterReference(input: string): ParameterReference {
  let text = input.trim();
  if (text === '') throw new ParameterReferenceError('the reference is empty');
  let dynamic: ParameterReference['dynamic'];
  if (text.startsWith('{{')) {
    const match = DYNAMIC.exec(text);
    if (match === null) throw new ParameterReferenceError('a dynamic reference must look like {{resolve:ssm:...}}');
    if (match[1] !== 'ssm' && match[1] !== 'ssm-secure') {
      throw new ParameterReferenceError(`only ssm and ssm-secure dynamic references are read here, not "${match[1] ?? ''}"`);
    }
    dynamic = match[1];
    text = match[2] ?? '';
  }

  let name: string;
  let form: ParameterReference['form'];
  let rest: string[];
  if (text.startsWith('arn:')) {
    const parts = text.split(':');
    if (parts.length < 6) {
      throw new ParameterReferenceError('an ARN must look like arn:<partition>:ssm:<region>:<account>:parameter/<name>');
    }
    const [, partition = '', service, region = '', account = '', resource = ''] = parts;
    if (!PARTITION.test(partition)) throw new ParameterReferenceError(`"${partition}" is not an AWS partition`);
    if (service !== 'ssm') throw new ParameterReferenceError(`the ARN's service is "${service ?? ''}", not "ssm"`);
    if (!REGION.test(region)) throw new ParameterReferenceError('the ARN has no valid region');
    if (!ACCOUNT.test(account)) throw new ParameterReferenceError('the ARN has no valid 12-digit account id');
    if (!resource.startsWith('parameter/')) {
      throw new ParameterReferenceError('the ARN\'s resource must be "parameter/<name>"');
    }
    checkName(resource.slice('parameter/'.length), false);
    name = parts.slice(0, 6).join(':');
    form = 'arn';
    rest = parts.slice(6);
  } else {
    const parts = text.split(':');
    name = parts[0] ?? '';
    checkName(name, true);
    form = 'name';
    rest = parts.slice(1);
  }

  if (rest.length > 1) throw new ParameterReferenceError('too many ":" segments: expected <name>[:<version or label>]');
  const selector = rest[0];
  if (selector === undefined) return { name, form, version: undefined, label: undefined, selector: name, dynamic };
  if (VERSION.test(selector)) {
    return { name, form, version: Number(selector), label: undefined, selector: `${name}:${selector}`, dynamic };
  }
  if (dynamic !== undefined) throw new ParameterReferenceError('a dynamic reference takes a version number after the name, not a label');
  if (!LABEL.test(selector) || /^\d/.test(selector)) {
    throw new ParameterReferenceError(
      'the selector after ":" must be a version number or a label (1-100 letters, digits and ._-, not starting with a digit)',
    );
  }
  return { name, form, version: undefined, label: selector, selector: `${name}:${selector}`, dynamic };
}

/** True when `path` is a valid hierarchy to read with GetParametersByPath (`/` or `/a/b`, trailing slash allowed). */
export function isParameterPath(path: string): boolean {
  if (!path.startsWith('/')) return false;
  const inner = path.replace(/\/$/, '').slice(1);
  return inner === '' || (inner.split('/').every((s) => SEGMENT.test(s)) && inner.split('/').length < MAX_LEVELS);
}

function checkName(name: string, leadingSlashAllowed: boolean): void {
  if (name === '') throw new ParameterReferenceError('the parameter name is empty');
  if (name.length > MAX_NAME_LENGTH) throw new ParameterReferenceError(`a parameter name is at most ${MAX_NAME_LENGTH} characters`);
  const hierarchical = name.startsWith('/');
  if (hierarchical && !leadingSlashAllowed) {
    throw new ParameterReferenceError('an ARN writes the name without its leading slash: parameter/app/name');
  }
  const segments = (hierarchical ? name.slice(1) : name).split('/');
  if (!hierarchical && segments.length > 1 && leadingSlashAllowed) {
    throw new ParameterReferenceError('a hierarchical parameter name starts with "/"');
  }
  if (!segments.every((segment) => SEGMENT.test(segment))) {
    throw new ParameterReferenceError('a parameter name is made of "/"-separated segments of letters, digits and ._-');
  }
  if (segments.length > MAX_LEVELS) throw new ParameterReferenceError(`a parameter name has at most ${MAX_LEVELS} levels`);
}
