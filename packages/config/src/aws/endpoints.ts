/**
 * Where a call goes: an endpoint env var, else the regional hostname of the region's partition.
 * Facts from the SDK's endpoint rule sets (client-secrets-manager / client-kms
 * dist-cjs/index.js `_data.results`: `https://{service}[-fips].{Region}.{PartitionResult#dnsSuffix}`)
 * and its partitions table (regionRegex and dnsSuffix per partition).
 */

/** How one AWS service is addressed. */
export interface EndpointSpec {
  /** Hostname label, e.g. `secretsmanager`, `kms`, `ssm`. */
  readonly hostPrefix: string;
  /** The service's own endpoint env var, e.g. `AWS_ENDPOINT_URL_SECRETS_MANAGER`. */
  readonly endpointEnv: string;
}

/** A resolved endpoint, or why the lean path cannot compute one (the SDK clients are used then). */
export type EndpointResolution =
  | { readonly ok: true; readonly url: URL; readonly region: string }
  | { readonly ok: false; readonly reason: string };

interface Partition {
  readonly name: string;
  readonly regionRegex: RegExp;
  readonly dnsSuffix: string;
}

// aws-iso*, aws-eusc: not covered here; those regions go through the SDK clients.
const PARTITIONS: readonly Partition[] = [
  { name: 'aws-cn', regionRegex: /^cn-\w+-\d+$/, dnsSuffix: 'amazonaws.com.cn' },
  { name: 'aws-us-gov', regionRegex: /^us-gov-\w+-\d+$/, dnsSuffix: 'amazonaws.com' },
];
const UNSUPPORTED_PARTITIONS = /^(us-iso[a-z]?-|eu-isoe-|eusc-)/;
const AWS: Partition = { name: 'aws', regionRegex: /^(us|eu|ap|sa|ca|me|af|il|mx)-\w+-\d+$/, dnsSuffix: 'amazonaws.com' };
const REGION_LABEL = /^[a-z0-9-]{1,63}$/;

/** The partition of `region` (the SDK also falls back to `aws` for regions it does not know). */
export function partitionOf(region: string): Partition {
  if (region === 'aws-cn-global') return PARTITIONS[0]!;
  if (region === 'aws-us-gov-global') return PARTITIONS[1]!;
  return PARTITIONS.find((p) => p.regionRegex.test(region)) ?? AWS;
}

/** `https://{prefix}[-fips].{region}.{dnsSuffix}`. */
export function regionalHostname(spec: EndpointSpec, region: string, fips: boolean): string {
  return `${spec.hostPrefix}${fips ? '-fips' : ''}.${region}.${partitionOf(region).dnsSuffix}`;
}

/** The region the SDK would use: `AWS_REGION`, else `AWS_DEFAULT_REGION`. */
export function regionFromEnv(env: NodeJS.ProcessEnv = process.env): string | undefined {
  return nonEmpty(env.AWS_REGION) ?? nonEmpty(env.AWS_DEFAULT_REGION);
}

/**
 * The endpoint of `spec`: the service's endpoint env var, else `AWS_ENDPOINT_URL`, else the
 * regional hostname (FIPS with `AWS_USE_FIPS_ENDPOINT=true`). A custom endpoint wins over FIPS.
 */
export function resolveEndpoint(spec: EndpointSpec, env: NodeJS.ProcessEnv = process.env): EndpointResolution {
  const region = regionFromEnv(env);
  if (region === undefined) return { ok: false, reason: 'no region (AWS_REGION)' };
  if (!REGION_LABEL.test(region)) return { ok: false, reason: 'the region is not a valid host label' };
  // The SDK's configured-endpoint switch: AWS_IGNORE_CONFIGURED_ENDPOINT_URLS=true ignores the vars.
  const custom = isTrue(env.AWS_IGNORE_CONFIGURED_ENDPOINT_URLS)
    ? undefined
    : (nonEmpty(env[spec.endpointEnv]) ?? nonEmpty(env.AWS_ENDPOINT_URL));
  if (custom !== undefined) {
    let url: URL;
    try {
      url = new URL(custom);
    } catch {
      return { ok: false, reason: `${spec.endpointEnv} / AWS_ENDPOINT_URL is not a URL` };
    }
    if (url.protocol !== 'https:' && url.protocol !== 'http:') return { ok: false, reason: 'the endpoint URL is not http(s)' };
    return { ok: true, url, region };
  }
  if (isTrue(env.AWS_USE_DUALSTACK_ENDPOINT)) return { ok: false, reason: 'AWS_USE_DUALSTACK_ENDPOINT' };
  if (UNSUPPORTED_PARTITIONS.test(region)) return { ok: false, reason: `region ${region} is in an isolated partition` };
  const fips = isTrue(env.AWS_USE_FIPS_ENDPOINT);
  return { ok: true, url: new URL(`https://${regionalHostname(spec, region, fips)}/`), region };
}

function nonEmpty(value: string | undefined): string | undefined {
  return value === undefined || value.trim() === '' ? undefined : value.trim();
}

function isTrue(value: string | undefined): boolean {
  return value?.trim().toLowerCase() === 'true';
}
