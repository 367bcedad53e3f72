/**
 * Canary test: every secret value and KMS plaintext is a unique random string, and everything
 * the runtime and the config layer let out of the process — log lines, error bodies, init error
 * bodies, responses — is searched for them. Runs the built bootstrap on the fixtures with the
 * real SDK clients against the stand-ins.
 */
import { randomUUID } from 'node:crypto';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { InitErrorRecord, InvocationResult, LocalFunction } from '@custom-runtime/local';
import { makeTaskRoot } from '@custom-runtime/test-support';
import { defineConfig, getConfig, kms, secret, env } from '../src/index.js';
import { FIXTURES, FUNCTION_NAME, seedApp, startWorld, type AppValues, type World } from './fixtures/world.js';
import { setEnv, startStandIns } from './helpers.js';

const canaries: string[] = [];

function canary(): string {
  const value = `canary-${randomUUID()}`;
  canaries.push(value);
  return value;
}

function canaryValues(): AppValues {
  return { apiKey: canary(), otherKey: canary(), dbUsername: canary(), dbPassword: canary(), legacyToken: canary() };
}

/** Asserts that no text contains a canary; each text is labelled for the failure message. */
function expectNoCanary(texts: Readonly<Record<string, string>>): void {
  for (const [label, text] of Object.entries(texts)) {
    for (const value of canaries) {
      if (text.includes(value)) throw new Error(`${label} contains canary ${value}:\n${text}`);
    }
  }
}

/** What a failed invocation lets out: the error document and the raw body. */
function failureTexts(label: string, result: InvocationResult): Record<string, string> {
  expect(result.status, `${label}: ${result.text()}`).toBe('error');
  return { [`${label} body`]: result.text(), [`${label} error`]: JSON.stringify(result.error ?? null) };
}

function initErrorTexts(label: string, record: InitErrorRecord): Record<string, string> {
  return { [`${label} init error`]: record.body.toString('utf8'), [`${label} init error type`]: record.errorType };
}

async function exitedLogs(label: string, fn: LocalFunction): Promise<Record<string, string>> {
  expect((await fn.exited).code, fn.logs()).not.toBe(0);
  return { [`${label} logs`]: fn.logs() };
}

describe.each(['Text', 'JSON'] as const)('canary with %s logs: module handlers', (logFormat) => {
  const logEnv = { AWS_LAMBDA_LOG_FORMAT: logFormat };

  it('successful invocations, logging the config, describeConfig and the definition', async () => {
    const world = await startWorld();
    const seed = seedApp(world, canaryValues(), 'canary');
    const texts: Record<string, string> = {};
    for (const handler of ['app.handler', 'app.wrapped', 'app.logs', 'app.pollution']) {
      const fn = await world.start({ handler, env: { ...seed.env, ...logEnv } });
      for (const event of [{ customer: { id: 'c-1' } }, {}]) {
        const result = await fn.invoke(event);
        expect(result.status, `${handler}: ${result.text()}\n${fn.logs()}`).toBe('success');
        texts[`${handler} response`] = result.text();
      }
      // Stopped first: its output is then read to the end, not only what the pipe has delivered.
      await fn.stop();
      texts[`${handler} logs`] = fn.logs();
    }
    // Not vacuous: the config was printed, with its secret-fed fields redacted.
    expect(texts['app.logs logs']).toContain('[redacted]');
    expect(texts['app.logs logs']).toContain('tableName');
    expect(texts['app.logs logs']).toMatch(/resolved from secretsmanager \\?"canary\/api\\?"/);
    expectNoCanary(texts);
  });

  it('SecretBinary and KMS without a context, logged', async () => {
    const world = await startWorld();
    const binary = canary();
    canaries.push(Buffer.from(binary).toString('base64'));
    world.sm.createSecret('canary/signing-key', new TextEncoder().encode(binary));
    const fn = await world.start({
      handler: 'extras.handler',
      env: {
        ...logEnv,
        SIGNING_KEY_SECRET: 'canary/signing-key',
        PLAIN_TOKEN_ENCRYPTED: world.kms.encryptToBase64(world.keyId, canary()),
      },
    });
    const result = await fn.invoke({});
    expect(result.status, fn.logs()).toBe('success');
    await fn.stop();
    expect(fn.logs()).toContain('[redacted]');
    expectNoCanary({ response: result.text(), logs: fn.logs() });
  });

  it('a handler that throws an error naming config fields, with the config attached', async () => {
    const world = await startWorld();
    const seed = seedApp(world, canaryValues(), 'canary');
    const fn = await world.start({ handler: 'app.fails', env: { ...seed.env, ...logEnv } });
    const texts: Record<string, string> = {};
    for (const round of [1, 2]) {
      const result = await fn.invoke({ customer: { id: 'c-1' } }, { requestId: `req-fails-${round}` });
      expect(result.error?.errorMessage).toContain('apiKey and legacyToken');
      Object.assign(texts, failureTexts(`round ${round}`, result));
    }
    // The runtime logs the error (with its enumerable fields) under the request id.
    await fn.stop();
    texts.logs = fn.logs();
    expect(texts.logs).toContain('req-fails-2');
    expect(texts.logs).toContain('[redacted]');
    expectNoCanary(texts);
  });

  it('an invalid payload field as the invocation error', async () => {
    const world = await startWorld();
    const seed = seedApp(world, canaryValues(), 'canary');
    const fn = await world.start({ handler: 'app.handler', env: { ...seed.env, ...logEnv } });
    const bad = await fn.invoke({ customer: { id: 7 } });
    expect(bad.errorType).toBe('Runtime.ConfigInvalid');
    await fn.stop();
    expectNoCanary({ ...failureTexts('payload', bad), logs: fn.logs() });
  });

  it('init failures: wrong JSON key, schema mismatch, an echoing schema, a wrong KMS context', async () => {
    const world = await startWorld();
    const seed = seedApp(world, canaryValues(), 'canary');
    world.sm.createSecret('canary/no-api-key', JSON.stringify({ apiKeyy: canary(), other: canary() }));
    world.sm.createSecret('canary/db-mismatch', JSON.stringify({ username: [canary()], password: canary() }));
    world.sm.createSecret('canary/db-not-json', `{${canary()}`);
    world.sm.createSecret('canary/pin', canary());
    const texts: Record<string, string> = {};

    const cases: ReadonlyArray<readonly [string, string, Record<string, string>, string, RegExp]> = [
      ['wrong key', 'app.handler', { API_KEY_SECRET: 'canary/no-api-key' }, 'default', /apiKey \(secretsmanager via env API_KEY_SECRET\): missing: JSON key "apiKey" not in the secret \(secretsmanager "canary\/no-api-key"\)/],
      ['schema mismatch', 'app.handler', { DB_SECRET: 'canary/db-mismatch' }, 'default', /db \(secretsmanager via env DB_SECRET\): invalid: username: /],
      ['not JSON', 'app.handler', { DB_SECRET: 'canary/db-not-json' }, 'default', /db \(secretsmanager via env DB_SECRET\): invalid: /],
      ['echoing schema', 'echo.handler', { PIN_SECRET: 'canary/pin' }, 'default', /pin \(secretsmanager via env PIN_SECRET\): invalid: expected a PIN, got \[redacted\]/],
      ['wrong context', 'app.handler', {}, 'other-fn', /legacyToken \(kms via env LEGACY_TOKEN_ENCRYPTED\): bad ciphertext/],
    ];
    for (const [label, handler, overrides, functionName, message] of cases) {
      const fn = await world.start({
        handler,
        ...(functionName !== 'default' && { functionName }),
        env: { ...seed.env, ...overrides, ...logEnv },
      });
      const initError = await fn.runtimeApi.waitForInitError();
      expect(initError.errorType, label).toBe('Runtime.ConfigInvalid');
      expect(initError.error?.errorMessage, label).toMatch(message);
      Object.assign(texts, initErrorTexts(label, initError), await exitedLogs(label, fn));
    }
    expectNoCanary(texts);
  });
});

describe.each(['Text', 'JSON'] as const)('canary with %s logs: every rendering of a config', (logFormat) => {
  /** The env of fixtures/render*.mjs: secrets, KMS, marked env fields and AWS credentials, all canaries. */
  let seeded = 0;
  function renderEnv(world: World): Record<string, string> {
    const seed = seedApp(world, canaryValues(), `canary-${++seeded}`);
    return {
      ...seed.env,
      AWS_LAMBDA_LOG_FORMAT: logFormat,
      NO_ECHO_TOKEN: canary(),
      RESOLVED_PASSWORD: canary(),
    };
  }
  // The handler could print the credentials; the runtime and the config layer never do. The
  // stand-ins verify signatures made with them.
  const canaryWorld = (): Promise<World> =>
    startWorld({ accessKeyId: 'test', secretAccessKey: canary(), sessionToken: canary() });

  it('console.* (dir, dirxml, trace, assert, format verbs), util.inspect with any options, JSON, String(), templates, describeConfig', async () => {
    const world = await canaryWorld();
    const env = renderEnv(world);
    const token = canary();
    const fn = await world.start({ handler: 'render.prints', env });
    const result = await fn.invoke({ token });
    expect(result.status, `${result.text()}\n${fn.logs()}`).toBe('success');
    // The handler read the real values (their lengths), printed only placeholders.
    expect(result.json()).toEqual({
      apiKey: 43,
      password: 43,
      legacyToken: 43,
      noEcho: 43,
      resolved: 43,
      eventToken: token.length,
    });
    await fn.stop();
    const logs = fn.logs();
    expect(logs).toContain('[redacted]');
    expect(logs).toContain('Redacted {}'); // customInspect: false formats the placeholder itself
    expect(logs).toContain('Proxy ['); // showProxy shows target and handler, no values
    expect(logs).toContain('orders'); // plain fields are printed
    expectNoCanary({ response: result.text(), logs });
  });

  it.each(['throwsConfig', 'throwsNested', 'throwsArray', 'throwsWithCause', 'throwsString', 'rejectsLater'])(
    'a handler that %s: the /error body and the log lines',
    async (handler) => {
      const world = await canaryWorld();
      const fn = await world.start({ handler: `render.${handler}`, env: renderEnv(world) });
      const texts: Record<string, string> = {};
      for (const round of [1, 2]) {
        const result = await fn.invoke({ token: canary() }, { requestId: `req-${handler}-${round}` });
        Object.assign(texts, failureTexts(`round ${round}`, result));
      }
      await fn.stop();
      texts.logs = fn.logs();
      expect(texts.logs).toContain(`req-${handler}-2`);
      expectNoCanary(texts);
    },
  );

  it('console.table of the config and of rows holding it, a pending promise and a timer made during the invocation', async () => {
    const world = await startWorld();
    const fn = await world.start({ handler: 'render.tables', env: renderEnv(world) });
    const result = await fn.invoke({ token: canary() });
    expect(result.status, `${result.text()}\n${fn.logs()}`).toBe('success');
    await fn.stop();
    const wrapped = await world.start({ handler: 'render.tablesWrapped', env: renderEnv(world) });
    const wrappedResult = await wrapped.invoke({ token: canary() });
    expect(wrappedResult.status, `${wrappedResult.text()}\n${wrapped.logs()}`).toBe('success');
    await wrapped.stop();
    if (logFormat === 'Text') expect(wrapped.logs()).toContain('EventBinding { live: true }');
    const logs = `${fn.logs()}\n${wrapped.logs()}`;
    // Not vacuous: the tables were printed, the plain field and the placeholders in them.
    expect(logs).toMatch(/│ tableName +│ 'orders' +│/);
    expect(logs).toMatch(/│ apiKey +│ '\[redacted\]' +│/);
    expect(logs).toMatch(/│ first +│ \[redacted\] +│ \[redacted\] +│ \[redacted\] +│ 'orders' +│/);
    expectNoCanary({ response: result.text(), logs });
  });

  it('schemas that throw with the value (JSON.parse, new URL, BigInt, a throwing refine), at init and per invocation', async () => {
    const world = await startWorld();
    const env = renderEnv(world);
    const pin = canary();
    env.PIN_SECRET = world.sm.createSecret(`canary/pin-${seeded}`, pin).name;
    env.URL_SECRET = world.sm.createSecret(`canary/url-${seeded}`, canary()).name;
    const texts: Record<string, string> = {};
    const fn = await world.start({ handler: 'throwing-schema.handler', env });
    const cases = [
      ['url', 'apiUrl (secretsmanager via env URL_SECRET)', 'TypeError'],
      ['bigint', 'pin (secretsmanager via env PIN_SECRET)', 'SyntaxError'],
      ['json', 'token (payload token)', 'SyntaxError'],
      ['refine', 'token (payload token)', 'Error'],
    ] as const;
    for (const [which, where, thrown] of cases) {
      const result = await fn.invoke({ which, token: canary() });
      expect(result.errorType, `${which}: ${result.text()}`).toBe('Runtime.ConfigInvalid');
      expect(result.error?.errorMessage).toContain(`${where}: invalid: the schema threw (${thrown}; its message is not shown`);
      Object.assign(texts, failureTexts(which, result));
    }
    await fn.stop();
    texts.logs = fn.logs();
    // JSON.parse quotes the first ten characters: no prefix of a value either.
    const prefixes = canaries.map((value) => value.slice(0, 'canary-'.length + 3));
    const atInit = await world.start({ handler: 'throwing-schema-init.handler', env: renderEnv(world) });
    const initError = await atInit.runtimeApi.waitForInitError();
    expect(initError.errorType).toBe('Runtime.ConfigInvalid');
    expect(initError.error?.errorMessage).toContain('noEcho (env NO_ECHO_TOKEN): invalid: the schema threw (SyntaxError;');
    Object.assign(texts, initErrorTexts('at init', initError), await exitedLogs('at init', atInit));
    expectNoCanary(texts);
    for (const [label, text] of Object.entries(texts)) {
      for (const prefix of prefixes) expect(text, label).not.toContain(`"${prefix}`);
    }
  });

  it('a coercing schema echoing the number it made of a secret', async () => {
    const world = await startWorld();
    const digits = `00${String(Date.now()).slice(-9)}${Math.floor(Math.random() * 1e6)}`;
    canaries.push(digits, String(Number(digits)));
    const env = { ...renderEnv(world), PIN_SECRET: world.sm.createSecret(`canary/number-${seeded}`, digits).name };
    const fn = await world.start({ handler: 'echo-number.handler', env });
    const initError = await fn.runtimeApi.waitForInitError();
    expect(initError.error?.errorMessage).toContain('pin (secretsmanager via env PIN_SECRET): invalid: PIN out of range: [redacted]');
    expectNoCanary({ ...initErrorTexts('number', initError), ...(await exitedLogs('number', fn)) });
  });

  it('an invalid sensitive payload field', async () => {
    const world = await canaryWorld();
    const fn = await world.start({ handler: 'render.invalidEvent', env: renderEnv(world) });
    const bad = await fn.invoke({ token: { nested: [canary(), { deeper: canary() }] } });
    expect(bad.errorType).toBe('Runtime.ConfigInvalid');
    expect(bad.error?.errorMessage).toContain('eventToken (payload token): invalid: ');
    await fn.stop();
    expectNoCanary({ ...failureTexts('payload', bad), logs: fn.logs() });
  });

  it('a module that prints its config while loading, one that throws it (Error, value, the config itself), a sensitive field failing init', async () => {
    const world = await canaryWorld();
    const texts: Record<string, string> = {};
    const ok = await world.start({ handler: 'render-init.handler', env: renderEnv(world) });
    expect((await ok.invoke({})).status, ok.logs()).toBe('success');
    await ok.stop();
    expect(ok.logs()).toContain('[redacted]');
    texts['loads logs'] = ok.logs();
    const echoing = await world.start({ handler: 'echo-env.handler', env: renderEnv(world) });
    const echoError = await echoing.runtimeApi.waitForInitError();
    expect(echoError.errorType).toBe('Runtime.ConfigInvalid');
    expect(echoError.error?.errorMessage).toContain('noEcho (env NO_ECHO_TOKEN): invalid: expected digits, got [redacted]');
    Object.assign(texts, initErrorTexts('echoing schema', echoError), await exitedLogs('echoing schema', echoing));
    for (const how of ['error', 'value', 'config']) {
      const fn = await world.start({ handler: 'render-init.handler', env: { ...renderEnv(world), THROW_AT_INIT: how } });
      const initError = await fn.runtimeApi.waitForInitError();
      Object.assign(texts, initErrorTexts(how, initError), await exitedLogs(how, fn));
    }
    expectNoCanary(texts);
  });
});

describe('canary: command handlers', () => {
  const marker = 'user-env:';
  // The script prints its own env on request (the user's choice, not counted), answers with
  // lengths only, and fails on request with a message of its own.
  const script = `#!/bin/sh
set -eu
event=$(cat)
case "$event" in
  *dump*) echo "${marker} API_TOKEN=$API_TOKEN DB=$DB LEGACY_TOKEN=$LEGACY_TOKEN" >&2 ;;
esac
case "$event" in
  *fail*) echo "the disk is full" >&2; exit 3 ;;
esac
printf '{"apiToken":%s,"db":%s,"legacyToken":%s,"customer":"%s"}' "\${#API_TOKEN}" "\${#DB}" "\${#LEGACY_TOKEN}" "\${CUSTOMER_ID:-}"
`;

  it("keeps canaries out of the runtime's lines, error bodies and init errors", async () => {
    const world = await startWorld();
    const values = canaryValues();
    const seed = seedApp(world, values, 'canary');
    world.sm.createSecret('canary/db-mismatch', JSON.stringify({ username: canary(), password: { nested: canary() } }));
    const root = await makeTaskRoot({ 'handler.sh': { content: script, mode: 0o755 } });
    const configSpec = path.join(FIXTURES, 'command-config.config');
    const texts: Record<string, string> = {};

    for (const logFormat of ['Text', 'JSON']) {
      const fn = await world.start({
        taskRoot: root,
        handler: 'handler.sh',
        env: { ...seed.env, CUSTOM_RUNTIME_CONFIG: configSpec, AWS_LAMBDA_LOG_FORMAT: logFormat },
      });
      const ok = await fn.invoke({ customer: { id: 'c-1' }, dump: true });
      expect(ok.status, fn.logs()).toBe('success');
      expect(ok.json()).toEqual({
        apiToken: values.apiKey.length,
        db: JSON.stringify({ username: values.dbUsername, password: values.dbPassword }).length,
        legacyToken: values.legacyToken.length,
        customer: 'c-1',
      });
      texts[`${logFormat} response`] = ok.text();
      const failed = await fn.invoke({ fail: true });
      expect(failed.errorType).toBe('Function.CommandFailed');
      expect(failed.error?.errorMessage).toContain('the disk is full');
      Object.assign(texts, failureTexts(`${logFormat} command failed`, failed));
      const badPayload = await fn.invoke({ customer: { id: { nested: true } } });
      expect(badPayload.errorType).toBe('Runtime.ConfigInvalid');
      Object.assign(texts, failureTexts(`${logFormat} bad payload`, badPayload));

      // The script's own dump is there (so the filter below is not vacuous), and is not counted.
      await fn.stop();
      expect(fn.logs()).toContain(values.apiKey);
      const runtimeLines = fn
        .logs()
        .split('\n')
        .filter((line) => !line.includes(marker));
      texts[`${logFormat} runtime lines`] = runtimeLines.join('\n');
    }

    // A value no environment variable can hold: an invocation error naming field and variable.
    const nulSecret = canary();
    const nul = world.sm.createSecret('canary/nul-api', JSON.stringify({ apiKey: `${nulSecret}\u0000tail`, other: canary() }));
    for (const logFormat of ['Text', 'JSON']) {
      const fn = await world.start({
        taskRoot: root,
        handler: 'handler.sh',
        env: {
          ...seed.env,
          API_KEY_SECRET: nul.name,
          // A KMS plaintext with a NUL byte, decrypted in the default format.
          LEGACY_TOKEN_ENCRYPTED: world.kms.encryptToBase64(world.keyId, `${canary()}\u0000`, { LambdaFunctionName: FUNCTION_NAME }),
          CUSTOM_RUNTIME_CONFIG: configSpec,
          AWS_LAMBDA_LOG_FORMAT: logFormat,
        },
      });
      const failed = await fn.invoke({ customer: { id: 'c-1' } });
      expect(failed.errorType, fn.logs()).toBe('Runtime.ConfigInvalid');
      expect(failed.error?.errorMessage).toContain(
        'apiKey (secretsmanager via env API_KEY_SECRET): invalid: cannot be passed to the command as environment variable API_TOKEN: the value contains a NUL byte',
      );
      expect(failed.error?.errorMessage).toContain(
        'legacyToken (kms via env LEGACY_TOKEN_ENCRYPTED): invalid: cannot be passed to the command as environment variable LEGACY_TOKEN: the value contains a NUL byte',
      );
      Object.assign(texts, failureTexts(`${logFormat} NUL byte`, failed));
      await fn.stop();
      texts[`${logFormat} NUL byte logs`] = fn.logs();
    }

    const broken = await world.start({
      taskRoot: root,
      handler: 'handler.sh',
      env: { ...seed.env, DB_SECRET: 'canary/db-mismatch', CUSTOM_RUNTIME_CONFIG: configSpec },
    });
    const initError = await broken.runtimeApi.waitForInitError();
    expect(initError.errorType).toBe('Runtime.ConfigInvalid');
    expect(initError.error?.errorMessage).toContain('db (secretsmanager via env DB_SECRET): invalid: password: ');
    Object.assign(texts, initErrorTexts('command', initError), await exitedLogs('command', broken));
    expectNoCanary(texts);
  });
});

// The fix the canary test found: JSON log formats stringify a logged object, so the config's
// JSON form redacts like its inspect form. Checked here in process against the sources too.
describe('JSON form of a resolved config', () => {
  let restore: () => void = () => {};
  let stop: () => Promise<void> = async () => {};
  beforeAll(async () => {
    const aws = await startStandIns();
    stop = () => aws.close();
    aws.sm.createSecret('json/api', 'api-value');
    const keyId = aws.kms.createKey().keyId;
    restore = setEnv({ JSON_TABLE: 'orders', JSON_API: 'json/api', JSON_TOKEN: aws.kms.encryptToBase64(keyId, 'token-value') });
  });
  afterAll(async () => {
    restore();
    await stop();
  });

  it('shows secret-fed fields as [redacted] while the properties stay plain', async () => {
    const config = defineConfig({ table: env('JSON_TABLE'), api: secret('JSON_API'), token: kms('JSON_TOKEN') });
    const cfg = await getConfig(config);
    expect(JSON.parse(JSON.stringify(cfg))).toEqual({ table: 'orders', api: '[redacted]', token: '[redacted]' });
    expect(JSON.parse(JSON.stringify({ nested: [cfg] }))).toEqual({
      nested: [{ table: 'orders', api: '[redacted]', token: '[redacted]' }],
    });
    expect({ ...cfg }).toEqual({ table: 'orders', api: 'api-value', token: 'token-value' });
    expect(Object.keys(cfg)).toEqual(['table', 'api', 'token']);
  });
});
