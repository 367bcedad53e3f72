import type { IncomingMessage, ServerResponse } from 'node:http';
import { RecordingServer } from './recording-server.js';
import type { StandInCredentials } from './sigv4-verifier.js';

/** Options for {@link startContainerCredentials}. */
export interface ContainerCredentialsOptions {
  /** What the endpoint hands out; a session token is always part of container credentials. */
  readonly credentials: StandInCredentials & { readonly sessionToken: string };
  /** When set, requests must send it as `Authorization` (`AWS_CONTAINER_AUTHORIZATION_TOKEN`). */
  readonly authorizationToken?: string;
  /** Lifetime of the credentials handed out; 6 hours when omitted. */
  readonly expiresInMs?: number;
}

/**
 * A container credentials endpoint (what `AWS_CONTAINER_CREDENTIALS_FULL_URI` points at under
 * SnapStart, Lambda Managed Instances, ECS and EKS Pod Identity): `GET` answers
 * `{AccessKeyId, SecretAccessKey, Token, Expiration}`, the shape `@aws-sdk/credential-provider-http`
 * requires, after checking the `Authorization` token.
 */
export interface ContainerCredentialsStandIn {
  /** The full URI, e.g. `http://127.0.0.1:41234/v1/credentials`. */
  readonly url: string;
  /** How many credential requests arrived (rejected ones included). */
  requestCount(): number;
  /** Hands out other credentials from now on (a rotation). */
  setCredentials(credentials: StandInCredentials & { readonly sessionToken: string }): void;
  /** Changes the lifetime of the credentials handed out from now on. */
  setExpiresIn(ms: number): void;
  /** Stops listening. */
  close(): Promise<void>;
}

const PATH = '/v1/credentials';

/** Starts a container credentials endpoint on 127.0.0.1 and a free port. */
export async function startContainerCredentials(options: ContainerCredentialsOptions): Promise<ContainerCredentialsStandIn> {
  let credentials = options.credentials;
  let expiresInMs = options.expiresInMs ?? 6 * 3_600_000;
  const http: RecordingServer = new RecordingServer(async (req: IncomingMessage, res: ServerResponse) => {
    http.record('GetCredentials', {});
    if (req.method !== 'GET' || (req.url ?? '').split('?')[0] !== PATH) return answer(res, 404, { Code: 'NotFound', Message: 'no such path' });
    if (options.authorizationToken !== undefined && req.headers.authorization !== options.authorizationToken) {
      return answer(res, 403, { Code: 'AccessDenied', Message: 'the authorization token is missing or wrong' });
    }
    answer(res, 200, {
      AccessKeyId: credentials.accessKeyId,
      SecretAccessKey: credentials.secretAccessKey,
      Token: credentials.sessionToken,
      Expiration: new Date(Date.now() + expiresInMs).toISOString(),
    });
  });
  await http.listen();
  return {
    url: `${http.url}${PATH}`,
    requestCount: () => http.callCount(),
    setCredentials(next) {
      credentials = next;
    },
    setExpiresIn(ms) {
      expiresInMs = ms;
    },
    close: () => http.close(),
  };
}

function answer(res: ServerResponse, status: number, body: Record<string, string>): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}
