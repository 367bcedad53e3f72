/**
 * Checks an AWS Signature Version 4 `Authorization` header the way AWS does, against known dummy
 * credentials, so a test fails when a client signs wrongly. Written from the SigV4 documentation
 * (IAM User Guide, "Create a signed AWS API request": canonical request, string to sign, signing
 * key), independently of the signer the clients use.
 */
import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';

/** Dummy credentials a stand-in accepts. */
export interface StandInCredentials {
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
  /** When set, requests must carry it as `X-Amz-Security-Token`. */
  readonly sessionToken?: string;
}

/** What a request must be signed for. */
export interface SigningScope {
  readonly region: string;
  /** Signing name, e.g. `secretsmanager`, `kms`. */
  readonly service: string;
}

/** A request as received. */
export interface ReceivedRequest {
  readonly method: string;
  /** Path and query, as in `IncomingMessage.url`. */
  readonly url: string;
  readonly headers: IncomingHttpHeaders;
  readonly body: Buffer;
}

/** Why a signature was rejected: the AWS error code and message to answer. */
export interface SignatureRejection {
  readonly code: 'MissingAuthenticationTokenException' | 'IncompleteSignatureException' | 'InvalidSignatureException' | 'UnrecognizedClientException';
  readonly message: string;
}

/** A verified request's access key id, or why it was rejected. */
export type SignatureCheck = { readonly ok: true; readonly accessKeyId: string } | ({ readonly ok: false } & SignatureRejection);

const HEADER = /^AWS4-HMAC-SHA256\s+Credential=([^,\s]+)\s*,\s*SignedHeaders=([^,\s]+)\s*,\s*Signature=([0-9a-f]{64})\s*$/;
const AMZ_DATE = /^(\d{8})T\d{6}Z$/;
// AWS accepts signatures up to 15 minutes off its clock.
const MAX_SKEW_MS = 15 * 60_000;
const INVALID_TOKEN = 'The security token included in the request is invalid.';

/**
 * Checks only that the header is there and names an access key id (what a stand-in without
 * credentials requires): the access key id, or the error for a missing or malformed header.
 */
export function parseAuthorization(headers: IncomingHttpHeaders): SignatureCheck {
  const header = headers.authorization;
  if (header === undefined || header.trim() === '') {
    return { ok: false, code: 'MissingAuthenticationTokenException', message: 'Missing Authentication Token' };
  }
  const match = /^AWS4-HMAC-SHA256 .*Credential=([^/,\s]+)\//.exec(header);
  if (match === null) return incomplete();
  return { ok: true, accessKeyId: match[1]! };
}

function incomplete(): SignatureCheck {
  return {
    ok: false,
    code: 'IncompleteSignatureException',
    message: "Authorization header requires 'Credential', 'SignedHeaders' and 'Signature' parameters (AWS4-HMAC-SHA256).",
  };
}

/**
 * Verifies the signature of `request` for `scope` at `now`, with the credentials of the access
 * key id it names (`known` looks them up; a single set of credentials works too).
 */
export function verifySignature(
  request: ReceivedRequest,
  scope: SigningScope,
  known: StandInCredentials | ((accessKeyId: string) => StandInCredentials | undefined),
  now: number = Date.now(),
): SignatureCheck {
  const parsed = parseAuthorization(request.headers);
  if (!parsed.ok) return parsed;
  const match = HEADER.exec(request.headers.authorization!.trim());
  const parts = match?.[1]?.split('/');
  if (match === null || parts === undefined || parts.length !== 5 || parts[4] !== 'aws4_request') return incomplete();
  const [, , signedHeaders, signature] = match;
  const [accessKeyId, day, region, service] = parts as [string, string, string, string, string];
  const credentials = typeof known === 'function' ? known(accessKeyId) : known.accessKeyId === accessKeyId ? known : undefined;
  if (credentials === undefined) return { ok: false, code: 'UnrecognizedClientException', message: INVALID_TOKEN };
  const token = single(request.headers['x-amz-security-token']);
  if (credentials.sessionToken !== undefined && token !== credentials.sessionToken) {
    return { ok: false, code: 'UnrecognizedClientException', message: INVALID_TOKEN };
  }
  const amzDate = single(request.headers['x-amz-date']);
  const dateMatch = amzDate === undefined ? null : AMZ_DATE.exec(amzDate);
  if (amzDate === undefined || dateMatch === null) {
    return {
      ok: false,
      code: 'IncompleteSignatureException',
      message: "Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header.",
    };
  }
  if (dateMatch[1] !== day) {
    return { ok: false, code: 'InvalidSignatureException', message: 'Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from HTTP.' };
  }
  if (region !== scope.region) {
    return { ok: false, code: 'InvalidSignatureException', message: `Credential should be scoped to a valid region, not '${region}'.` };
  }
  if (service !== scope.service) {
    return { ok: false, code: 'InvalidSignatureException', message: `Credential should be scoped to correct service: '${scope.service}'.` };
  }
  const signedAt = parseAmzDate(amzDate);
  if (signedAt < now - MAX_SKEW_MS) {
    return {
      ok: false,
      code: 'InvalidSignatureException',
      message: `Signature expired: ${amzDate} is now earlier than ${formatAmzDate(now - MAX_SKEW_MS)} (${formatAmzDate(now)} - 15 min.)`,
    };
  }
  if (signedAt > now + MAX_SKEW_MS) {
    return {
      ok: false,
      code: 'InvalidSignatureException',
      message: `Signature not yet current: ${amzDate} is still later than ${formatAmzDate(now + MAX_SKEW_MS)} (${formatAmzDate(now)} + 15 min.)`,
    };
  }
  const names = signedHeaders!.split(';');
  if (!names.includes('host')) {
    return { ok: false, code: 'InvalidSignatureException', message: "'Host' must be a 'SignedHeader' in the AWS Authorization." };
  }
  const canonical = canonicalRequest(request, names, signedHeaders!);
  const credentialScope = `${day}/${region}/${service}/aws4_request`;
  const stringToSign = ['AWS4-HMAC-SHA256', amzDate, credentialScope, sha256Hex(canonical)].join('\n');
  let key: Buffer = hmac(`AWS4${credentials.secretAccessKey}`, day);
  for (const part of [region, service, 'aws4_request']) key = hmac(key, part);
  const expected = createHmac('sha256', key).update(stringToSign).digest();
  if (!timingSafeEqual(expected, Buffer.from(signature!, 'hex'))) {
    return {
      ok: false,
      code: 'InvalidSignatureException',
      message:
        'The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method. Consult the service documentation for details.',
    };
  }
  return { ok: true, accessKeyId };
}

function canonicalRequest(request: ReceivedRequest, names: readonly string[], signedHeaders: string): string {
  const [rawPath = '/', rawQuery = ''] = request.url.split('?', 2) as [string?, string?];
  const path = rawPath.split('/').map((segment) => encode(decodeURIComponent(segment))).join('/') || '/';
  const query = new URLSearchParams(rawQuery);
  const pairs = [...query].map(([k, v]) => [encode(k), encode(v)] as const).sort(([a, x], [b, y]) => (a === b ? (x < y ? -1 : 1) : a < b ? -1 : 1));
  const headerLines = names.map((name) => `${name}:${headerValue(request.headers[name])}\n`).join('');
  return [
    request.method,
    path,
    pairs.map(([k, v]) => `${k}=${v}`).join('&'),
    headerLines,
    signedHeaders,
    sha256Hex(request.body),
  ].join('\n');
}

// RFC 3986 unreserved characters stay; everything else is percent-encoded in upper case.
function encode(text: string): string {
  return encodeURIComponent(text).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
}

function headerValue(value: string | string[] | undefined): string {
  const joined = Array.isArray(value) ? value.join(',') : (value ?? '');
  return joined.trim().replace(/\s+/g, ' ');
}

function single(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}

function sha256Hex(data: string | Buffer): string {
  return createHash('sha256').update(data).digest('hex');
}

function hmac(key: string | Buffer, data: string): Buffer {
  return createHmac('sha256', key).update(data).digest();
}

function parseAmzDate(text: string): number {
  return Date.UTC(+text.slice(0, 4), +text.slice(4, 6) - 1, +text.slice(6, 8), +text.slice(9, 11), +text.slice(11, 13), +text.slice(13, 15));
}

/** `YYYYMMDDTHHMMSSZ` of `ms`. */
export function formatAmzDate(ms: number): string {
  return new Date(ms).toISOString().replace(/[-:]/g, '').replace(/\.\d{3}/, '');
}
