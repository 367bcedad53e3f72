/**
 * Sends a definition's init calls before the runtime imports the handler module, so that the
 * network wait overlaps the import; the lean path then takes the answers of the calls it would
 * have sent itself (aws/init-requests.ts). Entry point `@custom-runtime/config/init-request-sender`,
 * bundled by the runtime alone; docs/design.md, "Init requests ahead of the handler".
 *
 * Nothing here changes what a function gets: an answer is used only by the identical request,
 * signed with the same access key, during init; anything this cannot reproduce exactly is left to
 * the handler, which then calls as it always does.
 */
import { environmentCredentials } from './aws/credentials.js';
import { dropInitAnswers, initAnswerKey, offerInitAnswer } from './aws/init-requests.js';
import { leanRoute } from './aws/json-call.js';
import { KMS, SECRETS_MANAGER, type AwsJsonService } from './aws/services.js';
import { forgetConnections, sendSigned, type HttpTransport } from './aws/signed-request.js';

export type { HttpTransport, RawResponse, TransportCall, TransportRequest } from './aws/signed-request.js';

/** What a placeholder stands for: a secret id, a base64 ciphertext, or any text. */
export type PlaceholderKind = 'secret-id' | 'ciphertext' | 'text';

/** One init call, as the image stores it (init-request-plan.ts writes it). */
export interface PlannedRequest {
  readonly service: 'secretsmanager' | 'kms';
  readonly operation: string;
  /** The JSON body, each variable's value replaced by a placeholder (a JSON string of its own). */
  readonly body: string;
  readonly placeholders: Readonly<Record<string, { readonly env: string; readonly kind: PlaceholderKind }>>;
}

/** What {@link sendInitRequests} started. */
export interface InitRequestsAhead {
  /** How many calls were sent. */
  readonly sent: number;
  /** Settles once every sent request is written to its connection (or failed). Never rejects. */
  readonly written: Promise<void>;
}

const SERVICES: Readonly<Record<string, { readonly service: AwsJsonService; readonly operations: readonly string[] }>> = {
  secretsmanager: { service: SECRETS_MANAGER, operations: ['BatchGetSecretValue', 'GetSecretValue'] },
  kms: { service: KMS, operations: ['Decrypt'] },
};
// A secret name or a full or partial ARN with nothing after it, as parseSecretReference reads
// them (secret-reference.ts): what the package sends as is. A name cannot be "arn".
const PLAIN_SECRET_ID = /^(?:arn:aws(?:-[a-z]+)*:secretsmanager:[a-z0-9-]+:\d{12}:secret:[A-Za-z0-9/_+=.@-]{1,512}|(?!arn$)[A-Za-z0-9/_+=.@-]{1,512})$/;
// The sender's own deadlines: as long as an init may take. The lean path's attempt that takes an
// answer waits under the definition's own timeouts, and once init is over the runtime drops
// the connections still waiting for an answer.
const INIT_BUDGET_MS = 10_000;
const BASE64 = /^[A-Za-z0-9+/]+={0,2}$/;
// Never put in a body, whatever a plan says.
const CREDENTIAL_VARIABLES = /^AWS_(ACCESS_KEY_ID|SECRET_ACCESS_KEY|SESSION_TOKEN|CONTAINER_)/;
// More calls than any definition makes at init: a damaged plan sends nothing.
const MAX_REQUESTS = 64;

const NOTHING: InitRequestsAhead = Object.freeze({ sent: 0, written: Promise.resolve() });

/** `value` as the package would put it in a request, or undefined when it would not send it as is. */
function rendered(kind: PlaceholderKind, value: string | undefined): string | undefined {
  if (value === undefined || value === '') return undefined;
  switch (kind) {
    case 'secret-id':
      return PLAIN_SECRET_ID.test(value) ? value : undefined;
    case 'ciphertext':
      // The package decodes the variable and sends the bytes re-encoded: only canonical base64 survives.
      return value.length % 4 === 0 && BASE64.test(value) && Buffer.from(value, 'base64').toString('base64') === value ? value : undefined;
    case 'text':
      return value;
  }
}

function isPlanned(value: unknown): value is PlannedRequest {
  if (typeof value !== 'object' || value === null) return false;
  const request = value as Record<string, unknown>;
  const service = typeof request.service === 'string' ? SERVICES[request.service] : undefined;
  if (service === undefined || !service.operations.includes(request.operation as string)) return false;
  if (typeof request.body !== 'string' || typeof request.placeholders !== 'object' || request.placeholders === null) return false;
  return Object.values(request.placeholders).every((p: unknown) => {
    const { env, kind } = (p ?? {}) as Record<string, unknown>;
    if (typeof env !== 'string' || CREDENTIAL_VARIABLES.test(env)) return false;
    // Free text only for the function name (the console helper's encryption context).
    return kind === 'secret-id' || kind === 'ciphertext' || (kind === 'text' && env === 'AWS_LAMBDA_FUNCTION_NAME');
  });
}

/** The body of `request` for `env`, or undefined when a variable is unset or not sent as is. */
function renderBody(request: PlannedRequest, env: NodeJS.ProcessEnv, secretIds: Map<string, number>): string | undefined {
  let body = request.body;
  for (const [placeholder, { env: name, kind }] of Object.entries(request.placeholders)) {
    const value = rendered(kind, env[name]);
    if (value === undefined) return undefined;
    if (kind === 'secret-id') secretIds.set(value, (secretIds.get(value) ?? 0) + 1);
    body = body.split(JSON.stringify(placeholder)).join(JSON.stringify(value));
  }
  return body;
}

/**
 * Signs and sends `requests` (the image's plan; anything else in it is ignored) when the
 * environment has credentials in its variables and the lean path covers it, and offers their
 * answers to the handler's config definitions. Container credentials (SnapStart, Lambda Managed
 * Instances) and `CUSTOM_RUNTIME_CONFIG_TRANSPORT=sdk` send nothing. Sends through `transport`
 * when the runtime lends one, else through `node:http`/`node:https`. Never throws.
 */
export function sendInitRequests(requests: unknown, env: NodeJS.ProcessEnv = process.env, transport?: HttpTransport): InitRequestsAhead {
  try {
    if (!Array.isArray(requests) || requests.length > MAX_REQUESTS) return NOTHING;
    const planned = requests.filter(isPlanned);
    const secretIds = new Map<string, number>();
    const bodies = planned.map((request) => renderBody(request, env, secretIds));
    // The package asks for a secret once however many fields name it; such a plan is not reproduced.
    const repeated = [...secretIds.values()].some((count) => count > 1);
    const credentials = environmentCredentials(env);
    const writes: Array<Promise<void>> = [];
    planned.forEach((request, index) => {
      const body = bodies[index];
      const { service } = SERVICES[request.service]!;
      if (body === undefined || (repeated && request.service === 'secretsmanager')) return;
      const route = leanRoute(service, env);
      if (!route.ok || route.credentials !== 'env') return;
      const target = `${service.targetPrefix}.${request.operation}`;
      let written!: () => void;
      writes.push(new Promise<void>((resolve) => (written = resolve)));
      const answer = sendSigned({
        url: route.url,
        region: route.region,
        signingName: service.signingName,
        target,
        body,
        credentials,
        clockOffsetMs: 0,
        connectTimeoutMs: INIT_BUDGET_MS,
        timeoutMs: INIT_BUDGET_MS,
        timeoutName: 'attempt timeout',
        onWritten: written,
        ...(transport === undefined ? {} : { transport }),
      });
      answer.catch(written);
      offerInitAnswer(initAnswerKey(route.url, route.region, target, credentials.accessKeyId, body), answer);
    });
    return { sent: writes.length, written: Promise.all(writes).then(() => undefined) };
  } catch {
    // No credentials after all: the handler's definitions report it.
    return NOTHING;
  }
}

/** Init is over: drops the answers nobody took and closes this sender's connections. */
export function dropInitRequests(): void {
  dropInitAnswers();
  forgetConnections();
}
