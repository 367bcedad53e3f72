/**
 * The error a lean AWS call throws, shaped like the SDK's service exceptions (`name`, `$fault`,
 * `$metadata`) so aws-errors.ts maps both paths alike.
 */
export class AwsCallError extends Error {
  /** `client` for 4xx, `server` for 5xx and transport failures. */
  readonly $fault: 'client' | 'server';
  /** HTTP status (absent when no response arrived) and the attempts made. */
  readonly $metadata: { httpStatusCode?: number; attempts: number; requestId?: string };
  /** Node's error code of a transport failure, e.g. `ECONNREFUSED`. */
  readonly code: string | undefined;
  /** The response `Date` header, for clock-skew correction. */
  readonly serverDate: string | undefined;

  constructor(
    name: string,
    message: string,
    details: { status?: number | undefined; code?: string | undefined; requestId?: string | undefined; serverDate?: string | undefined } = {},
  ) {
    super(message);
    this.name = name;
    this.code = details.code;
    this.serverDate = details.serverDate;
    this.$fault = details.status !== undefined && details.status < 500 ? 'client' : 'server';
    this.$metadata = { attempts: 1 };
    if (details.status !== undefined) this.$metadata.httpStatusCode = details.status;
    if (details.requestId !== undefined) this.$metadata.requestId = details.requestId;
  }

  /** HTTP status of the answer, if one arrived. */
  get status(): number | undefined {
    return this.$metadata.httpStatusCode;
  }
}

/** An error code from a JSON 1.1 error response, as the SDK reads it (header first, then body). */
export function errorCodeOf(headerValue: string | string[] | undefined, body: unknown): string | undefined {
  const header = Array.isArray(headerValue) ? headerValue[0] : headerValue;
  const raw =
    header ??
    (typeof body === 'object' && body !== null
      ? pickString(body, 'code') ?? pickString(body, '__type') ?? pickString(body, 'Code')
      : undefined);
  if (raw === undefined || raw === '') return undefined;
  // `aws.protocoltests#Code:http://...`: the part after `#`, before `:`.
  const withoutUri = raw.split(':')[0] ?? raw;
  const hash = withoutUri.lastIndexOf('#');
  return hash >= 0 ? withoutUri.slice(hash + 1) : withoutUri;
}

function pickString(body: object, key: string): string | undefined {
  const value = (body as Record<string, unknown>)[key];
  return typeof value === 'string' ? value : undefined;
}

/** The error message of a JSON 1.1 error body (`message` or `Message`). */
export function errorMessageOf(body: unknown): string | undefined {
  if (typeof body !== 'object' || body === null) return undefined;
  return pickString(body, 'message') ?? pickString(body, 'Message');
}
