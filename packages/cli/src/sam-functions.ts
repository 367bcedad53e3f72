import path from 'node:path';
import { intrinsic, isRecord, type SamTemplate, type TemplateResource, type TemplateValue } from './template.js';

/** An `AWS::Serverless::Function` with `Globals.Function` applied, as far as `check` reads it. */
export interface SamFunction {
  readonly logicalId: string;
  readonly resource: TemplateResource;
  readonly packageType: 'Image' | 'Zip';
  /** `Handler` (zip functions). */
  readonly handler: string | undefined;
  /** `CodeUri` when it is a local path (zip functions). */
  readonly codeUri: string | undefined;
  /** `ImageConfig.Command` when it is a list of strings. */
  readonly command: readonly string[] | undefined;
  /** `MemorySize` (the function's, else Globals', else Lambda's 128); `undefined` if not a number. */
  readonly memorySizeMb: number | undefined;
  /** `Timeout` (the function's, else Globals', else Lambda's 3); `undefined` if not a number. */
  readonly timeoutSeconds: number | undefined;
  /** `Metadata.Dockerfile`, `DockerContext`, `DockerBuildTarget`, `DockerBuildArgs`. */
  readonly docker: DockerMetadata | undefined;
  /**
   * `Environment.Variables` of the function over those of `Globals.Function`, as template
   * values; `undefined` when either is an intrinsic function (not readable before deployment).
   */
  readonly variables: ReadonlyMap<string, TemplateValue> | undefined;
  /** Where each variable is declared, for messages. */
  readonly variableOrigin: ReadonlyMap<string, 'function' | 'globals'>;
}

/** How SAM builds a function's image. */
export interface DockerMetadata {
  /** `Metadata.Dockerfile` (default `Dockerfile`), resolved against the context. */
  readonly dockerfile: string;
  /** `Metadata.DockerContext`, resolved against the template's directory. */
  readonly context: string;
  readonly target: string | undefined;
  readonly buildArgs: ReadonlyMap<string, string>;
  /** `Metadata.DockerTag`. */
  readonly tag: string | undefined;
}

/** The template's `AWS::Serverless::Function` resources, in template order. */
export function samFunctions(template: SamTemplate): SamFunction[] {
  const globals = template.functionGlobals;
  const functions: SamFunction[] = [];
  for (const resource of template.resources.values()) {
    if (resource.type !== 'AWS::Serverless::Function') continue;
    const own = resource.properties;
    const property = (name: string): TemplateValue => (own[name] !== undefined ? own[name] : globals[name]);
    const packageType = property('PackageType') === 'Image' || (own.ImageUri !== undefined && own.CodeUri === undefined) ? 'Image' : 'Zip';
    const imageConfig = own.ImageConfig;
    const command = isRecord(imageConfig) ? stringList(imageConfig.Command) : undefined;
    const { variables, origin } = mergedVariables(globals.Environment, own.Environment);
    functions.push({
      logicalId: resource.logicalId,
      resource,
      packageType,
      handler: stringOrUndefined(property('Handler')),
      codeUri: stringOrUndefined(property('CodeUri')),
      command,
      memorySizeMb: numberOrUndefined(property('MemorySize') ?? 128),
      timeoutSeconds: numberOrUndefined(property('Timeout') ?? 3),
      docker: packageType === 'Image' ? dockerMetadata(resource.metadata, template.directory) : undefined,
      variables,
      variableOrigin: origin,
    });
  }
  return functions;
}

function mergedVariables(
  globalEnvironment: TemplateValue,
  ownEnvironment: TemplateValue,
): { variables: Map<string, TemplateValue> | undefined; origin: Map<string, 'function' | 'globals'> } {
  const origin = new Map<string, 'function' | 'globals'>();
  const variables = new Map<string, TemplateValue>();
  for (const [environment, from] of [
    [globalEnvironment, 'globals'],
    [ownEnvironment, 'function'],
  ] as const) {
    if (environment === undefined) continue;
    const map = isRecord(environment) && intrinsic(environment) === undefined ? environment.Variables : environment;
    if (map === undefined) continue;
    if (!isRecord(map) || intrinsic(map) !== undefined) return { variables: undefined, origin };
    for (const [key, value] of Object.entries(map)) {
      variables.set(key, value);
      origin.set(key, from);
    }
  }
  return { variables, origin };
}

function dockerMetadata(metadata: Readonly<Record<string, TemplateValue>>, directory: string): DockerMetadata | undefined {
  const contextPath = stringOrUndefined(metadata.DockerContext);
  if (contextPath === undefined) return undefined;
  const context = path.resolve(directory, contextPath);
  const dockerfile = path.resolve(context, stringOrUndefined(metadata.Dockerfile) ?? 'Dockerfile');
  const buildArgs = new Map<string, string>();
  if (isRecord(metadata.DockerBuildArgs)) {
    for (const [key, value] of Object.entries(metadata.DockerBuildArgs)) {
      if (typeof value === 'string' || typeof value === 'number') buildArgs.set(key, String(value));
    }
  }
  return { dockerfile, context, target: stringOrUndefined(metadata.DockerBuildTarget), buildArgs, tag: stringOrUndefined(metadata.DockerTag) };
}

function stringOrUndefined(value: TemplateValue): string | undefined {
  return typeof value === 'string' && value !== '' ? value : undefined;
}

function numberOrUndefined(value: TemplateValue): number | undefined {
  return typeof value === 'number' ? value : undefined;
}

function stringList(value: TemplateValue): string[] | undefined {
  return Array.isArray(value) && value.length > 0 && value.every((item) => typeof item === 'string') ? (value as string[]) : undefined;
}
