import type { Parameter, SSMClient } from '@aws-sdk/client-ssm';
import { loadSsmSdk } from './clients.js';
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
 * The two Parameter Store reads the config layer makes, behind one small interface so the
 * transport (the SDK client, or a lean signed JSON 1.1 client) can be swapped without touching
 * resolution. Implementations throw errors shaped like SDK exceptions (`name`, `$metadata`).
 */
export interface ParameterStoreApi {
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

const apis = new WeakMap<SSMClient, ParameterStoreApi>();

/** The {@link ParameterStoreApi} over an SDK client (one per client). */
export function sdkParameterStore(client: SSMClient): ParameterStoreApi {
  let api = apis.get(client);
  if (api === undefined) {
    api = {
      async getParameters(names, withDecryption) {
        const { GetParametersCommand } = await loadSsmSdk();
        const out = await client.send(new GetParametersCommand({ Names: [...names], WithDecryption: withDecryption }));
        return { parameters: (out.Parameters ?? []).map(toEntry), invalid: out.InvalidParameters ?? [] };
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
        return { parameters: (out.Parameters ?? []).map(toEntry), nextToken: out.NextToken };
      },
    };
    apis.set(client, api);
  }
  return api;
}

function toEntry(p: Parameter): ParameterEntry {
  return {
    name: p.Name ?? '',
    type: p.Type === 'StringList' || p.Type === 'SecureString' ? p.Type : 'String',
    value: p.Value ?? '',
    version: p.Version,
    selector: p.Selector,
    arn: p.ARN,
  };
}
