import type { Parameter, SSMClient } from '@aws-sdk/client-ssm';
import { callAwsJson, type LeanRoute } from './aws/json-call.js';
import { SSM } from './aws/services.js';
import type { ResolvedTimeouts } from './aws/timeouts.js';
import type { ParameterType } from './field.js';

/** One parameter as `GetParameters` and `GetParametersByPath` answer it. */
export interface ParameterEntry {
  readonly name: string;
  readonly type: ParameterType;
  readonly value: string;
  readonly version: number | undefined;
  /** `:version` or `:label` when the request named one. */
  readonly selector: string | undefined;
  readonly arn: string | undefined;
}

/** One page of `GetParametersByPath`. */
export interface ParameterPage {
  readonly parameters: readonly ParameterEntry[];
  readonly nextToken: string | undefined;
}

/**
 * The two Parameter Store reads the config layer makes, over the lean signed JSON 1.1 path or an
 * SDK client. Both throw errors shaped like SDK exceptions (`name`, `$metadata`).
 */
export interface ParameterStoreApi {
  /** Same identity, same account and endpoint: keys cache entries. */
  readonly identity: object;
  /** `GetParameters` for 1-10 names (selectors allowed). */
  getParameters(names: readonly string[], withDecryption: boolean): Promise<{ parameters: ParameterEntry[]; invalid: string[] }>;
  /** One page of `GetParametersByPath`. */
  getParametersByPath(input: {
    readonly path: string;
    readonly recursive: boolean;
    readonly withDecryption: boolean;
    readonly maxResults: number;
    readonly nextToken: string | undefined;
  }): Promise<ParameterPage>;
}

type SsmModule = typeof import('@aws-sdk/client-ssm');
let ssmModule: Promise<SsmModule> | undefined;

/** The Systems Manager SDK module, loaded on first use: the lean path never pays for it. */
export function loadSsmSdk(): Promise<SsmModule> {
  return (ssmModule ??= import('@aws-sdk/client-ssm'));
}

/** The API over the lean transport. */
export function leanParameterStore(route: Extract<LeanRoute, { ok: true }>, timeouts: ResolvedTimeouts, identity: object): ParameterStoreApi {
  return {
    identity,
    async getParameters(names, withDecryption) {
      const out = await callAwsJson(SSM, route, 'GetParameters', { Names: names, WithDecryption: withDecryption }, timeouts);
      return {
        parameters: Array.isArray(out.Parameters) ? out.Parameters.map(jsonEntry) : [],
        invalid: Array.isArray(out.InvalidParameters) ? out.InvalidParameters.filter((n): n is string => typeof n === 'string') : [],
      };
    },
    async getParametersByPath(input) {
      const out = await callAwsJson(
        SSM,
        route,
        'GetParametersByPath',
        {
          Path: input.path,
          Recursive: input.recursive,
          WithDecryption: input.withDecryption,
          MaxResults: input.maxResults,
          ...(input.nextToken === undefined ? {} : { NextToken: input.nextToken }),
        },
        timeouts,
      );
      return {
        parameters: Array.isArray(out.Parameters) ? out.Parameters.map(jsonEntry) : [],
        nextToken: typeof out.NextToken === 'string' ? out.NextToken : undefined,
      };
    },
  };
}

const sdkApis = new WeakMap<object, ParameterStoreApi>();

/** The API over an SDK client (one per client and identity). */
export function sdkParameterStore(client: SSMClient, identity: object): ParameterStoreApi {
  let api = sdkApis.get(client);
  if (api === undefined || api.identity !== identity) {
    api = {
      identity,
      async getParameters(names, withDecryption) {
        const { GetParametersCommand } = await loadSsmSdk();
        const out = await client.send(new GetParametersCommand({ Names: [...names], WithDecryption: withDecryption }));
        return { parameters: (out.Parameters ?? []).map(sdkEntry), invalid: out.InvalidParameters ?? [] };
      },
      async getParametersByPath(input) {
        const { GetParametersByPathCommand } = await loadSsmSdk();
        const out = await client.send(
          new GetParametersByPathCommand({
            Path: input.path,
            Recursive: input.recursive,
            WithDecryption: input.withDecryption,
            MaxResults: input.maxResults,
            NextToken: input.nextToken,
          }),
        );
        return { parameters: (out.Parameters ?? []).map(sdkEntry), nextToken: out.NextToken };
      },
    };
    sdkApis.set(client, api);
  }
  return api;
}

function sdkEntry(p: Parameter): ParameterEntry {
  return entry(p.Name, p.Type, p.Value, p.Version, p.Selector, p.ARN);
}

function jsonEntry(item: unknown): ParameterEntry {
  const p = (typeof item === 'object' && item !== null ? item : {}) as Record<string, unknown>;
  const text = (key: string): string | undefined => (typeof p[key] === 'string' ? p[key] : undefined);
  return entry(text('Name'), text('Type'), text('Value'), typeof p.Version === 'number' ? p.Version : undefined, text('Selector'), text('ARN'));
}

function entry(
  name: string | undefined,
  type: string | undefined,
  value: string | undefined,
  version: number | undefined,
  selector: string | undefined,
  arn: string | undefined,
): ParameterEntry {
  return {
    name: name ?? '',
    type: type === 'StringList' || type === 'SecureString' ? type : 'String',
    value: value ?? '',
    version,
    selector,
    arn,
  };
}
