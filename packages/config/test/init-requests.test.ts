/**
 * Init requests ahead of the handler: the calls a definition records while an image is built,
 * sent by the runtime's sender before the handler is imported, and taken by the lean path
 * instead of calling again; against signature-verifying stand-ins.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { ConfigDefinition, defineConfig, getConfig, kms, secret, setConfigClients } from '../src/index.js';
import { INIT_REQUESTS, PREFETCH } from '../src/definition.js';
import { dropInitRequests, sendInitRequests, type HttpTransport, type PlannedRequest, type TransportRequest } from '../src/init-request-sender.js';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { setEnv, startStandIns, type StandIns } from './helpers.js';

let aws: StandIns;
const cleanups: Array<() => void> = [];
beforeAll(async () => {
  aws = await startStandIns();
});
afterAll(() => aws.close());
afterEach(() => {
  dropInitRequests();
  setConfigClients({});
  for (const cleanup of cleanups.splice(0).reverse()) cleanup();
  aws.reset();
});

function env(vars: Record<string, string | undefined>): void {
  cleanups.push(setEnv({ AWS_LAMBDA_FUNCTION_NAME: 'ahead-fn', CUSTOM_RUNTIME_CONFIG_TRANSPORT: undefined, ...vars }));
}

type AnyDefinition = ConfigDefinition<Record<string, never>>;
const planOf = (definition: unknown): Promise<PlannedRequest[]> => (definition as { [INIT_REQUESTS](): Promise<PlannedRequest[]> })[INIT_REQUESTS]();
const prefetch = (definition: unknown): Promise<void> => (definition as { [PREFETCH](): Promise<void> })[PREFETCH]();
// What the image stores: the plan goes through a JSON file.
const stored = (plan: PlannedRequest[]): unknown => JSON.parse(JSON.stringify(plan));

let counter = 0;
/** `count` JSON secrets named by AHEAD_SECRET_<i>, one KMS variable with the console's context. */
function fixture(count: number): { config: AnyDefinition; variables: Record<string, string>; expected: Record<string, string> } {
  const run = counter++;
  const variables: Record<string, string> = {};
  const expected: Record<string, string> = {};
  const fields: Record<string, ReturnType<typeof secret>> = {};
  for (let i = 0; i < count; i++) {
    const created = aws.sm.createSecret(`ahead/${run}/s${i}`, JSON.stringify({ password: `pw-${run}-${i}` }));
    variables[`AHEAD_SECRET_${i}`] = created.arn;
    fields[`s${i}`] = secret(`AHEAD_SECRET_${i}`, { key: 'password' });
    expected[`s${i}`] = `pw-${run}-${i}`;
  }
  const keyId = aws.kms.createKey().keyId;
  variables.AHEAD_TOKEN = aws.kms.encryptToBase64(keyId, `token-${run}`, { LambdaFunctionName: 'ahead-fn' });
  expected.token = `token-${run}`;
  const config = defineConfig({ ...fields, token: kms('AHEAD_TOKEN', { encryptionContext: 'function-name' }) });
  return { config: config as unknown as AnyDefinition, variables, expected };
}

async function valuesOf(config: AnyDefinition): Promise<Record<string, string>> {
  return { ...((await getConfig(config)) as Record<string, string>) };
}

describe('the plan recorded while an image is built', () => {
  it('lists the first calls of a prefetch, sends none and holds no variable value', async () => {
    const { config, variables } = fixture(3);
    env(variables);
    const plan = await planOf(config);
    expect(aws.sm.callCount() + aws.kms.callCount()).toBe(0);
    expect(plan.map((r) => `${r.service}.${r.operation}`).sort()).toEqual(['kms.Decrypt', 'secretsmanager.BatchGetSecretValue']);
    const text = JSON.stringify(plan);
    for (const value of [...Object.values(variables), 'ahead-fn']) expect(text).not.toContain(value);
    const batch = plan.find((r) => r.operation === 'BatchGetSecretValue')!;
    expect(Object.values(batch.placeholders).map((p) => p.env).sort()).toEqual(['AHEAD_SECRET_0', 'AHEAD_SECRET_1', 'AHEAD_SECRET_2']);
    // The environment is as it was: the variables the recording replaced are back.
    for (const [name, value] of Object.entries(variables)) expect(process.env[name]).toBe(value);
    expect(process.env.AWS_LAMBDA_FUNCTION_NAME).toBe('ahead-fn');
  });

  it('restores variables that were unset, and a definition without AWS sources plans nothing', async () => {
    const { config } = fixture(1);
    env({ AHEAD_SECRET_0: undefined, AHEAD_TOKEN: undefined, AWS_LAMBDA_FUNCTION_NAME: undefined });
    expect(await planOf(config)).toHaveLength(2);
    expect(process.env.AHEAD_SECRET_0).toBeUndefined();
    expect(process.env.AHEAD_TOKEN).toBeUndefined();
    expect(process.env.AWS_LAMBDA_FUNCTION_NAME).toBeUndefined();
    expect(await planOf(defineConfig({}))).toEqual([]);
  });

  it('leaves out calls a user-supplied client makes', async () => {
    const { config, variables } = fixture(2);
    env(variables);
    setConfigClients({ secretsManager: new SecretsManagerClient({ region: 'us-east-1', endpoint: aws.sm.url }) });
    const plan = await planOf(config);
    expect(plan.map((r) => r.operation)).toEqual(['Decrypt']);
    expect(aws.sm.callCount()).toBe(0);
  });
});

describe('calls sent ahead', () => {
  it('are taken by the prefetch: each call reaches AWS once and the values are right', async () => {
    // 25 secrets: two BatchGetSecretValue pages of the package's own batching (20 + 5).
    const { config, variables, expected } = fixture(25);
    env(variables);
    const plan = stored(await planOf(config));
    const ahead = sendInitRequests(plan);
    expect(ahead.sent).toBe(3);
    await ahead.written;
    await prefetch(config);
    expect(aws.sm.callCount('BatchGetSecretValue')).toBe(2);
    expect(aws.sm.callCount('GetSecretValue')).toBe(0);
    expect(aws.kms.callCount('Decrypt')).toBe(1);
    expect(await valuesOf(config)).toEqual(expected);
  });

  it('go through the transport the runtime lends, given every signed header but Host and Content-Length', async () => {
    const { config, variables, expected } = fixture(2);
    env(variables);
    const seen: TransportRequest[] = [];
    // Forwards to the stand-ins, which check the signature: fetch writes Host and Content-Length.
    const transport: HttpTransport = {
      post(request) {
        seen.push(request);
        request.onWritten();
        const abort = new AbortController();
        const response = fetch(request.url, { method: 'POST', headers: request.headers, body: request.body, signal: abort.signal }).then(async (answer) => ({
          status: answer.status,
          headers: Object.fromEntries(answer.headers),
          body: await answer.text(),
        }));
        return { response, abort: () => abort.abort() };
      },
    };
    await sendInitRequests(stored(await planOf(config)), process.env, transport).written;
    await prefetch(config);
    expect(seen.map((r) => r.headers['x-amz-target']).sort()).toEqual(['TrentService.Decrypt', 'secretsmanager.BatchGetSecretValue']);
    for (const { headers } of seen) {
      expect(Object.keys(headers).map((name) => name.toLowerCase())).not.toContain('host');
      expect(Object.keys(headers).map((name) => name.toLowerCase())).not.toContain('content-length');
      expect(headers.authorization).toMatch(/^AWS4-HMAC-SHA256 Credential=/);
    }
    expect(aws.sm.callCount('BatchGetSecretValue')).toBe(1);
    expect(aws.kms.callCount('Decrypt')).toBe(1);
    expect(await valuesOf(config)).toEqual(expected);
  });

  it('that failed in the lent transport count as the first attempt: a reset connection is retried, as node:http\'s would be', async () => {
    const { config, variables, expected } = fixture(1);
    env(variables);
    let posts = 0;
    const transport: HttpTransport = {
      post: (request) => {
        posts++;
        request.onWritten();
        return { response: Promise.reject(Object.assign(new Error('the connection was lost'), { code: 'ECONNRESET' })), abort: () => {} };
      },
    };
    expect(sendInitRequests(stored(await planOf(config)), process.env, transport).sent).toBe(2);
    await prefetch(config);
    expect(posts).toBe(2);
    // Only the retries, sent by the lean path itself, reached AWS.
    expect(aws.sm.callCount('BatchGetSecretValue')).toBe(1);
    expect(aws.kms.callCount('Decrypt')).toBe(1);
    expect(await valuesOf(config)).toEqual(expected);
  });

  it('are not taken once init is over: unused answers are dropped', async () => {
    const { config, variables, expected } = fixture(2);
    env(variables);
    await sendInitRequests(stored(await planOf(config))).written;
    dropInitRequests();
    await prefetch(config);
    expect(aws.sm.callCount('BatchGetSecretValue')).toBe(2);
    expect(aws.kms.callCount('Decrypt')).toBe(2);
    expect(await valuesOf(config)).toEqual(expected);
  });

  it('of another definition (a stale plan) only cost calls: the values are this definition\'s', async () => {
    const stale = fixture(2);
    const current = fixture(2);
    env({ ...stale.variables });
    const plan = stored(await planOf(stale.config));
    env({ ...current.variables, AHEAD_SECRET_5: stale.variables.AHEAD_SECRET_0 });
    await sendInitRequests(plan).written;
    await prefetch(current.config);
    expect(await valuesOf(current.config)).toEqual(current.expected);
  });

  it('are not sent when a variable holds what the package would not send as is', async () => {
    const { config, variables, expected } = fixture(2);
    env(variables);
    const plan = stored(await planOf(config));
    // A reference with segments, and a ciphertext with a line break: the package rewrites both.
    const token = variables.AHEAD_TOKEN!;
    env({ AHEAD_SECRET_0: `${variables.AHEAD_SECRET_0}:SecretString:password`, AHEAD_TOKEN: `${token.slice(0, 8)}\n${token.slice(8)}` });
    expect(sendInitRequests(plan).sent).toBe(0);
    await prefetch(config);
    expect(await valuesOf(config)).toEqual(expected);
  });

  it('are not sent for an unset variable or two variables naming one secret', async () => {
    const { config, variables } = fixture(2);
    env(variables);
    const plan = stored(await planOf(config));
    env({ AHEAD_SECRET_1: variables.AHEAD_SECRET_0 });
    expect(sendInitRequests(plan).sent).toBe(1); // KMS only
    env({ AHEAD_SECRET_1: undefined });
    expect(sendInitRequests(plan).sent).toBe(1);
  });

  it('answered with a fault count as the first attempt: retried, or reported, as the usual call would be', async () => {
    const { config, variables, expected } = fixture(3);
    env(variables);
    const plan = stored(await planOf(config));
    aws.sm.injectFault({ operation: 'BatchGetSecretValue', kind: 'throttle' });
    aws.kms.injectFault({ operation: 'Decrypt', kind: 'access-denied' });
    await sendInitRequests(plan).written;
    // Access denied is not retried: the answer sent ahead is the field's answer.
    const failure = await prefetch(config).then(() => undefined, (error: unknown) => error);
    expect(String(failure)).toMatch(/token \(kms via env AHEAD_TOKEN\): access denied/);
    expect(aws.kms.callCount('Decrypt')).toBe(1);
    // Throttling is: one retry, and the secrets are read.
    expect(aws.sm.callCount('BatchGetSecretValue')).toBe(2);
    await prefetch(config).catch(() => undefined);
    const values = await valuesOf(config);
    expect({ ...values, token: expected.token }).toEqual(expected);
  });

  it('denied BatchGetSecretValue: the package falls back to GetSecretValue as it does without them', async () => {
    const { config, variables, expected } = fixture(2);
    env(variables);
    const plan = stored(await planOf(config));
    aws.sm.deny('BatchGetSecretValue');
    cleanups.push(() => aws.sm.allow('BatchGetSecretValue'));
    await sendInitRequests(plan).written;
    await prefetch(config);
    expect(await valuesOf(config)).toEqual(expected);
    expect(aws.sm.callCount('BatchGetSecretValue')).toBe(1);
    expect(aws.sm.callCount('GetSecretValue')).toBe(2);
  });

  it('are never sent with container credentials, the SDK transport or a damaged plan', async () => {
    const { config, variables } = fixture(1);
    env(variables);
    const plan = stored(await planOf(config));
    env({ CUSTOM_RUNTIME_CONFIG_TRANSPORT: 'sdk' });
    expect(sendInitRequests(plan).sent).toBe(0);
    env({ CUSTOM_RUNTIME_CONFIG_TRANSPORT: undefined, AWS_ACCESS_KEY_ID: undefined, AWS_CONTAINER_CREDENTIALS_FULL_URI: 'http://127.0.0.1:9/creds' });
    expect(sendInitRequests(plan).sent).toBe(0);
    env({ AWS_ACCESS_KEY_ID: 'test', AWS_CONTAINER_CREDENTIALS_FULL_URI: undefined });
    expect(sendInitRequests('{"not":"a plan"}').sent).toBe(0);
    expect(sendInitRequests([{ service: 'secretsmanager', operation: 'DeleteSecret', body: '{}', placeholders: {} }]).sent).toBe(0);
    // The control: the same plan in a covered environment is sent.
    await sendInitRequests(plan).written;
    await prefetch(config);
    expect(aws.sm.callCount('BatchGetSecretValue') + aws.kms.callCount('Decrypt')).toBe(2);
  });

  it('that never answer hold the first attempt only until its own timeout, as a call of its own would', async () => {
    const { config, variables, expected } = fixture(2);
    env({ ...variables, CUSTOM_RUNTIME_CONFIG_ATTEMPT_TIMEOUT_MS: '300' });
    const plan = stored(await planOf(config));
    aws.sm.injectFault({ operation: 'BatchGetSecretValue', kind: 'hang' });
    await sendInitRequests(plan).written;
    const started = performance.now();
    await prefetch(config);
    // The hung answer counted as attempt 1 (300 ms), the retry answered.
    expect(performance.now() - started).toBeGreaterThanOrEqual(290);
    expect(aws.sm.callCount('BatchGetSecretValue')).toBe(2);
    expect(await valuesOf(config)).toEqual(expected);
  });

  it('never carry a credential variable, or free text from any variable but the function name', () => {
    env({ AHEAD_OTHER: 'x' });
    const hostile = (env: string, kind: string): unknown => [
      { service: 'secretsmanager', operation: 'GetSecretValue', body: '{"SecretId":"initphX"}', placeholders: { initphX: { env, kind } } },
    ];
    for (const name of ['AWS_SECRET_ACCESS_KEY', 'AWS_SESSION_TOKEN', 'AWS_ACCESS_KEY_ID', 'AWS_CONTAINER_AUTHORIZATION_TOKEN']) {
      expect(sendInitRequests(hostile(name, 'secret-id')).sent, name).toBe(0);
      expect(sendInitRequests(hostile(name, 'text')).sent, name).toBe(0);
    }
    expect(sendInitRequests(hostile('AHEAD_OTHER', 'text')).sent).toBe(0);
    // The control: the same request naming a secret through an ordinary variable is sent.
    expect(sendInitRequests(hostile('AHEAD_OTHER', 'secret-id')).sent).toBe(1);
  });

  it("wait under the definition's own timeouts, not the environment's", async () => {
    const { variables, expected } = fixture(2);
    // The environment says 200 ms per attempt; the definition allows 3 s, and AWS takes 400 ms.
    env({ ...variables, CUSTOM_RUNTIME_CONFIG_ATTEMPT_TIMEOUT_MS: '200' });
    const fields = { s0: secret('AHEAD_SECRET_0', { key: 'password' }), s1: secret('AHEAD_SECRET_1', { key: 'password' }) };
    const config = defineConfig(fields, { clients: { timeouts: { attemptMs: 3000 } } }) as unknown as AnyDefinition;
    const plan = stored(await planOf(config));
    aws.sm.setLatency(400);
    cleanups.push(() => aws.sm.setLatency(0));
    await sendInitRequests(plan).written;
    await prefetch(config);
    expect(aws.sm.callCount('BatchGetSecretValue')).toBe(1);
    expect(await valuesOf(config)).toEqual({ s0: expected.s0, s1: expected.s1 });
  });

  it('are not sent for what the package would refuse as a reference', async () => {
    const { config, variables } = fixture(1);
    env(variables);
    const plan = stored(await planOf(config));
    for (const value of ['arn', 'arn:aws-:secretsmanager:us-east-1:123456789012:secret:x', 'arn:aws:secretsmanager:us-east-1:12345:secret:x', ' name']) {
      env({ AHEAD_SECRET_0: value });
      expect(sendInitRequests(plan).sent, value).toBe(1); // KMS only
    }
    env({ AHEAD_SECRET_0: 'arn:aws-us-gov:secretsmanager:us-gov-west-1:123456789012:secret:app/db' });
    expect(sendInitRequests(plan).sent).toBe(2);
  });

  it('planned twice at once leave the environment as it was', async () => {
    const first = fixture(1);
    env(first.variables);
    const second = defineConfig({ again: secret('AHEAD_SECRET_0') });
    const [a, b] = await Promise.all([planOf(first.config), planOf(second)]);
    expect(a).toHaveLength(2);
    expect(b).toHaveLength(1);
    expect(process.env.AHEAD_SECRET_0).toBe(first.variables.AHEAD_SECRET_0);
    expect(process.env.AHEAD_TOKEN).toBe(first.variables.AHEAD_TOKEN);
  });
});
