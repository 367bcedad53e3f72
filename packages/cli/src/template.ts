import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { parse, YAMLParseError, type Tags } from 'yaml';
import { CliError } from './cli-error.js';

/**
 * A template value as CloudFormation sees it: JSON-like, with intrinsic functions as
 * `{ Ref: ... }` / `{ 'Fn::Name': ... }` objects (short-form tags are expanded to these).
 */
export type TemplateValue = unknown;

/** One entry of `Resources`. */
export interface TemplateResource {
  readonly logicalId: string;
  readonly type: string;
  readonly properties: Readonly<Record<string, TemplateValue>>;
  readonly metadata: Readonly<Record<string, TemplateValue>>;
}

/** A parsed SAM template: its resources and the names of its parameters (never their values). */
export interface SamTemplate {
  /** Path of the template file (absolute when read by `check`). */
  readonly file: string;
  /** Its directory: `CodeUri`, `DockerContext` and `Dockerfile` are relative to it. */
  readonly directory: string;
  /** The whole template, short-form tags expanded to their long forms. */
  readonly document: Readonly<Record<string, TemplateValue>>;
  readonly resources: ReadonlyMap<string, TemplateResource>;
  readonly parameters: ReadonlySet<string>;
  /** `Globals.Function`, or `{}`. */
  readonly functionGlobals: Readonly<Record<string, TemplateValue>>;
}

// Every short-form tag of CloudFormation, in its scalar, sequence and mapping forms.
const FUNCTIONS = [
  'And', 'Base64', 'Cidr', 'Equals', 'FindInMap', 'GetAtt', 'GetAZs', 'If', 'ImportValue', 'Join',
  'Length', 'Not', 'Or', 'Select', 'Split', 'Sub', 'ToJsonString', 'Transform',
];

const CFN_TAGS: Tags = [
  { tag: '!Ref', resolve: (value: string) => ({ Ref: value }) },
  { tag: '!Condition', resolve: (value: string) => ({ Condition: value }) },
  ...FUNCTIONS.flatMap((name) => [
    // `!GetAtt Resource.Attribute` is the scalar form of `Fn::GetAtt: [Resource, Attribute]`.
    { tag: `!${name}`, resolve: (value: string) => ({ [`Fn::${name}`]: name === 'GetAtt' ? getAttParts(value) : value }) },
    { tag: `!${name}`, collection: 'seq' as const, resolve: (node: { toJSON(): unknown }) => ({ [`Fn::${name}`]: node.toJSON() }) },
    { tag: `!${name}`, collection: 'map' as const, resolve: (node: { toJSON(): unknown }) => ({ [`Fn::${name}`]: node.toJSON() }) },
  ]),
];

/** `Resource.Attribute` as `Fn::GetAtt`'s list: split at the first dot (attributes may have dots). */
export function getAttParts(value: string): string[] {
  const dot = value.indexOf('.');
  return dot === -1 ? [value] : [value.slice(0, dot), value.slice(dot + 1)];
}

/** Options of {@link parseTemplate}. */
export interface TemplateOptions {
  /**
   * Refuse a mapping with the same key twice. CloudFormation takes the last one; for a template
   * of one's own, a duplicate is a mistake worth failing on.
   */
  readonly uniqueKeys?: boolean;
}

/**
 * Reads a SAM template file (YAML with CloudFormation's short-form tags, or JSON).
 *
 * @throws {@link CliError} when it cannot be read or parsed (see {@link parseTemplate})
 */
export async function readTemplate(file: string, options: TemplateOptions = {}): Promise<SamTemplate> {
  const text = await readFile(file, 'utf8').catch((error: NodeJS.ErrnoException) => {
    throw new CliError(`cannot read the template ${file}: ${error.code ?? 'read error'}`);
  });
  return parseTemplate(text, file, options);
}

/**
 * Parses a SAM template; `file` is named in errors, and its directory is the template's.
 *
 * @throws {@link CliError} when it does not parse or has no `Resources`; the message gives the
 *   position, never the text around it (a parameter default may be a secret)
 */
export function parseTemplate(text: string, file: string, options: TemplateOptions = {}): SamTemplate {
  let document: unknown;
  try {
    document = parse(text, { customTags: CFN_TAGS, prettyErrors: false, uniqueKeys: options.uniqueKeys ?? false });
  } catch (error) {
    if (error instanceof YAMLParseError) {
      // With prettyErrors off (it would quote the text), linePos is not set: count from pos.
      const position = error.linePos?.[0] ?? lineAndColumn(text, error.pos[0]);
      const where = position !== undefined ? ` at line ${position.line}, column ${position.col}` : '';
      throw new CliError(`${file} is not valid YAML${where} (${error.code})`);
    }
    throw error;
  }
  if (!isRecord(document) || !isRecord(document.Resources)) throw new CliError(`${file} has no Resources section`);
  const resources = new Map<string, TemplateResource>();
  for (const [logicalId, resource] of Object.entries(document.Resources)) {
    if (!isRecord(resource) || typeof resource.Type !== 'string') continue;
    resources.set(logicalId, {
      logicalId,
      type: resource.Type,
      properties: isRecord(resource.Properties) ? resource.Properties : {},
      metadata: isRecord(resource.Metadata) ? resource.Metadata : {},
    });
  }
  const globals = isRecord(document.Globals) && isRecord(document.Globals.Function) ? document.Globals.Function : {};
  return {
    file,
    directory: path.dirname(file),
    document,
    resources,
    parameters: new Set(isRecord(document.Parameters) ? Object.keys(document.Parameters) : []),
    functionGlobals: globals,
  };
}

/** 1-based line and column of a character offset of `text`. */
function lineAndColumn(text: string, offset: number | undefined): { line: number; col: number } | undefined {
  if (offset === undefined || offset < 0 || offset > text.length) return undefined;
  const before = text.slice(0, offset);
  const lineStart = before.lastIndexOf('\n') + 1;
  return { line: before.split('\n').length, col: offset - lineStart + 1 };
}

/** True for a plain mapping (not a list, not null). */
export function isRecord(value: unknown): value is Record<string, TemplateValue> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** The intrinsic function of `value` (`Ref`, `Fn::Sub`, ...) and its argument, if it is one. */
export function intrinsic(value: TemplateValue): { name: string; argument: TemplateValue } | undefined {
  if (!isRecord(value)) return undefined;
  const keys = Object.keys(value);
  if (keys.length !== 1) return undefined;
  const name = keys[0]!;
  return name === 'Ref' || name === 'Condition' || name.startsWith('Fn::') ? { name, argument: value[name] } : undefined;
}

/**
 * A value in CloudFormation's short form, for a suggested fix: `!Ref X`, `!GetAtt X.Y`,
 * `!Sub '...'`, a plain string, or flow-style JSON for anything else.
 */
export function renderValue(value: TemplateValue): string {
  const fn = intrinsic(value);
  if (fn?.name === 'Ref' && typeof fn.argument === 'string') return `!Ref ${fn.argument}`;
  if (fn?.name === 'Fn::GetAtt' && Array.isArray(fn.argument) && fn.argument.every((part) => typeof part === 'string')) {
    return `!GetAtt ${fn.argument.join('.')}`;
  }
  if (fn?.name === 'Fn::Sub' && typeof fn.argument === 'string') return `!Sub ${quote(fn.argument)}`;
  if (typeof value === 'string') return quote(value);
  return JSON.stringify(value);
}

function quote(text: string): string {
  return /^[A-Za-z0-9_/.@+=-][A-Za-z0-9_/.@+=:-]*$/.test(text) ? text : `'${text.replace(/'/g, "''")}'`;
}
