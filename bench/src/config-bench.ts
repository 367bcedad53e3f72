import { randomBytes } from 'node:crypto';
import { request } from 'node:http';
import { DEFAULT_PROVIDERS } from '@aws-lambda-powertools/parameters/base';
import { getSecret, SecretsProvider } from '@aws-lambda-powertools/parameters/secrets';
import { clearConfigCache, defineConfig, getConfig, kms, secret, type ConfigField } from '@custom-runtime/config';
import { startKms, startSecretsManager, type KmsStandIn, type SecretsManagerStandIn } from '@custom-runtime/local';
import middy from '@middy/core';
import secretsManager from '@middy/secrets-manager';
import { loadAverage } from './machine.js';
import { rotated } from './order.js';
import type { Metric, Section, Subject } from './results.js';

export interface ConfigSettings {
  readonly rounds: number;
  readonly secrets: number;
  readonly kmsValues: number;
  /** Injected per Secrets Manager and KMS call. */
  readonly latencyMs: number;
  readonly oursWarmIterations: number;
  readonly peerWarmIterations: number;
}

type Log = (line: string) => void;

interface Fixture {
  readonly sm: SecretsManagerStandIn;
  readonly kms: KmsStandIn;
  readonly names: readonly string[];
  /** The password in each JSON secret, to check every subject read the right values. */
  readonly passwords: readonly string[];
  readonly kmsEnvNames: readonly string[];
}

const SUBJECTS: readonly Subject[] = [
  {
    id: 'ours',
    label: '@custom-runtime/config',
    how: 'defineConfig with one `secret({ reference, key: "password" })` field per secret → getConfig (the JSON key makes it parse each JSON secret, as the peers do); clearConfigCache() before each cold round',
  },
  {
    id: 'powertools',
    label: 'Powertools getSecret',
    how: "getSecret(name, { transform: 'json', maxAge: 300 }) for each secret, all in one Promise.all; the default provider is dropped before each cold round so it builds a new one",
  },
  {
    id: 'middy',
    label: 'Middy secrets-manager',
    how: 'middy(handler).use(secretsManager({ fetchData: {…20}, setToContext: true, cacheKey: <new per round> })), invoked once for cold',
  },
];

/** A Lambda-like context: middy arms its early-timeout timer when getRemainingTimeInMillis exists, as it does in Lambda. */
function lambdaContext(): Record<string, unknown> {
  const deadline = Date.now() + 900_000;
  return {
    functionName: 'bench',
    awsRequestId: 'bench',
    getRemainingTimeInMillis: () => deadline - Date.now(),
  };
}

async function setUp(settings: ConfigSettings): Promise<Fixture> {
  const [sm, kmsStandIn] = await Promise.all([startSecretsManager(), startKms()]);
  // The SDK clients every subject creates read their endpoint, region and credentials here.
  Object.assign(process.env, {
    AWS_ACCESS_KEY_ID: 'bench',
    AWS_SECRET_ACCESS_KEY: 'bench',
    AWS_SESSION_TOKEN: 'bench',
    AWS_REGION: sm.region,
    AWS_ENDPOINT_URL_SECRETS_MANAGER: sm.url,
    AWS_ENDPOINT_URL_KMS: kmsStandIn.url,
  });
  const names: string[] = [];
  const passwords: string[] = [];
  for (let i = 0; i < settings.secrets; i++) {
    const name = `bench/service-${String(i).padStart(2, '0')}`;
    const password = randomBytes(18).toString('base64url');
    sm.createSecret(name, JSON.stringify({ username: `user-${i}`, password, host: `db-${i}.internal`, port: 5432 }));
    names.push(name);
    passwords.push(password);
  }
  const key = kmsStandIn.createKey({ description: 'bench' });
  const kmsEnvNames: string[] = [];
  for (let i = 0; i < settings.kmsValues; i++) {
    const envName = `BENCH_KMS_${i}`;
    process.env[envName] = kmsStandIn.encryptToBase64(key.keyId, `plaintext-${i}`);
    kmsEnvNames.push(envName);
  }
  sm.setLatency(settings.latencyMs);
  kmsStandIn.setLatency(settings.latencyMs);
  return { sm, kms: kmsStandIn, names, passwords, kmsEnvNames };
}

function secretFields(fixture: Fixture): Record<string, ConfigField<unknown>> {
  return Object.fromEntries(fixture.names.map((name, i) => [`s${i}`, secret({ reference: name, key: 'password' })]));
}

function check(subject: string, got: unknown, want: string): void {
  if (got !== want) throw new Error(`${subject} read a wrong value`);
}

interface Cold {
  readonly ms: number;
  readonly secretsManagerCalls: number;
  readonly kmsCalls: number;
}

async function timeCold(fixture: Fixture, body: () => Promise<void>): Promise<Cold> {
  fixture.sm.resetCalls();
  fixture.kms.resetCalls();
  const started = performance.now();
  await body();
  const ms = performance.now() - started;
  return { ms, secretsManagerCalls: fixture.sm.callCount(), kmsCalls: fixture.kms.callCount() };
}

function coldOurs(fixture: Fixture, withKms: boolean): Promise<Cold> {
  const fields = secretFields(fixture);
  if (withKms) fixture.kmsEnvNames.forEach((envName, i) => (fields[`k${i}`] = kms(envName)));
  clearConfigCache();
  return timeCold(fixture, async () => {
    // defineConfig is inside the window: it is part of a cold start, as the peers' setup is.
    const config = (await getConfig(defineConfig(fields))) as Record<string, unknown>;
    check('ours', config[`s${fixture.names.length - 1}`], fixture.passwords.at(-1) as string);
    if (withKms) check('ours', config[`k${fixture.kmsEnvNames.length - 1}`], `plaintext-${fixture.kmsEnvNames.length - 1}`);
  });
}

const POWERTOOLS_OPTIONS = { transform: 'json', maxAge: 300 } as const;

function powertoolsGetAll(names: readonly string[]): Promise<unknown[]> {
  return Promise.all(names.map((name) => getSecret(name, POWERTOOLS_OPTIONS)));
}

function dropPowertoolsProvider(): void {
  const provider = DEFAULT_PROVIDERS.secrets;
  if (provider instanceof SecretsProvider) provider.client.destroy();
  delete DEFAULT_PROVIDERS.secrets;
}

function coldPowertools(fixture: Fixture): Promise<Cold> {
  dropPowertoolsProvider();
  return timeCold(fixture, async () => {
    const values = await powertoolsGetAll(fixture.names);
    check('powertools', (values.at(-1) as { password?: unknown }).password, fixture.passwords.at(-1) as string);
  });
}

type MiddyHandler = (event: unknown, context: Record<string, unknown>) => Promise<unknown>;

function middyHandler(fixture: Fixture, cacheKey: string): MiddyHandler {
  const fetchData = Object.fromEntries(fixture.names.map((name, i) => [`s${i}`, name]));
  const last = `s${fixture.names.length - 1}`;
  return middy(async (_event: unknown, context: Record<string, unknown>) => context[last]).use(
    secretsManager({ fetchData, setToContext: true, cacheKey }),
  ) as unknown as MiddyHandler;
}

let middyCacheKeys = 0;

async function coldMiddy(fixture: Fixture): Promise<{ cold: Cold; handler: MiddyHandler }> {
  let handler: MiddyHandler | undefined;
  const cold = await timeCold(fixture, async () => {
    // A new cache key is a cold cache: @middy/util's cache is module-wide and keyed by it.
    handler = middyHandler(fixture, `bench-${++middyCacheKeys}`);
    const value = (await handler({}, lambdaContext())) as { password?: unknown };
    check('middy', value.password, fixture.passwords.at(-1) as string);
  });
  return { cold, handler: handler as MiddyHandler };
}

/** ns per iteration of `body`, timed with process.hrtime.bigint(). */
async function nsPer(iterations: number, body: () => Promise<unknown>): Promise<number> {
  const started = process.hrtime.bigint();
  for (let i = 0; i < iterations; i++) await body();
  return Number(process.hrtime.bigint() - started) / iterations;
}

function fmt(value: number, digits = 1): string {
  return value.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });
}

/**
 * Ours, Powertools and Middy reading the same JSON secrets from the same Secrets Manager
 * stand-in through the real SDK client, cold (fresh client and cache) and warm (cached).
 */
export async function runConfigBench(settings: ConfigSettings, log: Log): Promise<Section> {
  const fixture = await setUp(settings);
  const coldMs: Record<string, number[]> = { ours: [], powertools: [], middy: [] };
  const coldCalls: Record<string, number[]> = { ours: [], powertools: [], middy: [] };
  const kmsMs: Record<string, number[]> = { ours: [] };
  const kmsCalls: Record<string, number[]> = { ours: [] };
  const warmNs: Record<string, number[]> = { ours: [], powertools: [], middy: [] };
  let roundTripMs = Number.NaN;
  const roundLoad: number[] = [];
  try {
    roundTripMs = await roundTrip(fixture);
    log(
      `config: ${settings.secrets} JSON secrets, ${settings.kmsValues} KMS ciphertexts, ${settings.latencyMs} ms per call injected; ` +
        `one bare round trip: ${fmt(roundTripMs)} ms`,
    );
    // Loads the SDK and each library's modules and warms the JIT, so rounds compare steady code.
    log('config: warm-up round (discarded)');
    await oneRound(fixture, settings.oursWarmIterations, settings.peerWarmIterations, 0);

    for (let round = 1; round <= settings.rounds; round++) {
      const tag = `config round ${round}/${settings.rounds}`;
      roundLoad.push(loadAverage());
      const r = await oneRound(fixture, settings.oursWarmIterations, settings.peerWarmIterations, round);
      for (const id of ['ours', 'powertools', 'middy'] as const) {
        coldMs[id]?.push(r.cold[id].ms);
        coldCalls[id]?.push(r.cold[id].secretsManagerCalls);
        warmNs[id]?.push(r.warm[id]);
      }
      kmsMs.ours?.push(r.oursKms.ms);
      kmsCalls.ours?.push(r.oursKms.secretsManagerCalls + r.oursKms.kmsCalls);
      log(
        `${tag}: cold ms (Secrets Manager calls): ours ${fmt(r.cold.ours.ms)} (${r.cold.ours.secretsManagerCalls}), ` +
          `ours+KMS ${fmt(r.oursKms.ms)} (${r.oursKms.secretsManagerCalls} + ${r.oursKms.kmsCalls} KMS), ` +
          `powertools ${fmt(r.cold.powertools.ms)} (${r.cold.powertools.secretsManagerCalls}), ` +
          `middy ${fmt(r.cold.middy.ms)} (${r.cold.middy.secretsManagerCalls})`,
      );
      log(
        `${tag}: warm ns: ours ${fmt(r.warm.ours, 0)}, powertools ${fmt(r.warm.powertools, 0)}, middy ${fmt(r.warm.middy, 0)}`,
      );
    }
  } finally {
    dropPowertoolsProvider();
    clearConfigCache();
    await Promise.all([fixture.sm.close(), fixture.kms.close()]);
  }

  const metric = (id: string, title: string, unit: string, digits: number, rounds: Record<string, number[]>): Metric => ({
    id,
    title,
    unit,
    better: 'lower',
    digits,
    rounds,
  });
  const n = settings.secrets;
  return {
    id: 'config',
    title: `Config: ${n} secrets from Secrets Manager (${settings.latencyMs} ms per call)`,
    subjects: SUBJECTS,
    metrics: [
      metric('coldMs', `Cold: ${n} secrets resolved (new client, empty cache)`, 'ms', 1, coldMs),
      metric('coldCalls', 'Cold: Secrets Manager calls', 'calls', 0, coldCalls),
      metric('coldKmsMs', `Cold: ${n} secrets + ${settings.kmsValues} KMS values (ours only)`, 'ms', 1, kmsMs),
      metric('coldKmsCalls', `Cold: Secrets Manager + KMS calls for it`, 'calls', 0, kmsCalls),
      metric('warmNs', `Warm: access to the ${n} values (see notes)`, 'ns', 0, warmNs),
    ],
    notes: [
      `Powertools and Middy use the real @aws-sdk/client-secrets-manager client each creates itself from the environment; ours takes its default path (signed JSON 1.1 calls of its own, no SDK client). All reach the stand-in through AWS_ENDPOINT_URL_SECRETS_MANAGER with dummy credentials; the stand-ins run in the benchmark process and answer each call after ${settings.latencyMs} ms.`,
      `One bare HTTP round trip to the stand-in (no SDK, new connection) took ${fmt(roundTripMs)} ms in this run.`,
      `Cold: wall time from building the config/provider/middleware to having all ${n} values, with a new client (new connection; ours: clearConfigCache() drops its connections and credentials) and an empty cache each round; calls are counted by the stand-in.`,
      'Within a round the cold resolutions, then the warm loops, run one subject after the other in an order that rotates from round to round.',
      `Warm, ours: \`await getConfig(definition)\` (all ${n} values), mean over ${settings.oursWarmIterations.toLocaleString('en-US')} calls per round.`,
      `Warm, Powertools: the same ${n} cached \`getSecret\` calls in one Promise.all, mean over ${settings.peerWarmIterations.toLocaleString('en-US')} per round (maxAge 300 s, so nothing is refetched).`,
      `Warm, Middy: one whole invocation of the middy-wrapped trivial handler with the cache filled (cacheExpiry -1) and setToContext, with a Lambda-like context (so middy arms and clears its timeout timer as it does in Lambda); nothing subtracted. Mean over ${settings.peerWarmIterations.toLocaleString('en-US')} per round.`,
    ],
    samples: { roundTripMs, loadAverageAtRoundStart: roundLoad },
  };
}

interface RoundFigures {
  readonly cold: Record<'ours' | 'powertools' | 'middy', Cold>;
  readonly oursKms: Cold;
  readonly warm: Record<'ours' | 'powertools' | 'middy', number>;
}

async function oneRound(fixture: Fixture, oursIterations: number, peerIterations: number, round: number): Promise<RoundFigures> {
  // Cold, then warm, each in an order that rotates from round to round: no subject always goes first.
  const cold: Partial<Record<'ours' | 'oursKms' | 'powertools' | 'middy', Cold>> = {};
  let handler: MiddyHandler | undefined;
  const coldSteps = {
    ours: async () => void (cold.ours = await coldOurs(fixture, false)),
    oursKms: async () => void (cold.oursKms = await coldOurs(fixture, true)),
    powertools: async () => void (cold.powertools = await coldPowertools(fixture)),
    middy: async () => {
      const result = await coldMiddy(fixture);
      cold.middy = result.cold;
      handler = result.handler;
    },
  };
  for (const step of rotated(Object.values(coldSteps), round)) await step();

  // Ours' warm definition is resolved once here, outside any timed window.
  const definition = defineConfig(secretFields(fixture));
  await getConfig(definition);
  fixture.sm.resetCalls();
  const context = lambdaContext();
  const event = {};
  const middyHandler = handler as MiddyHandler;
  const warm: Partial<Record<'ours' | 'powertools' | 'middy', number>> = {};
  const warmSteps = {
    ours: async () => void (warm.ours = await nsPer(oursIterations, () => getConfig(definition))),
    powertools: async () => void (warm.powertools = await nsPer(peerIterations, () => powertoolsGetAll(fixture.names))),
    middy: async () => void (warm.middy = await nsPer(peerIterations, () => middyHandler(event, context))),
  };
  for (const step of rotated(Object.values(warmSteps), round)) await step();
  if (fixture.sm.callCount() > 0) throw new Error('a warm loop called Secrets Manager: a cache expired during the loop');
  const got = <T>(value: T | undefined): T => {
    if (value === undefined) throw new Error('a step of the round did not run');
    return value;
  };
  return {
    cold: { ours: got(cold.ours), powertools: got(cold.powertools), middy: got(cold.middy) },
    oursKms: got(cold.oursKms),
    warm: { ours: got(warm.ours), powertools: got(warm.powertools), middy: got(warm.middy) },
  };
}

/** One call to the stand-in without the SDK (a fresh connection each): what one round trip costs here. */
async function roundTrip(fixture: Fixture): Promise<number> {
  const body = JSON.stringify({ SecretId: fixture.names[0] });
  const once = (): Promise<number> =>
    new Promise((resolve, reject) => {
      const started = performance.now();
      const req = request(
        fixture.sm.url,
        {
          method: 'POST',
          agent: false,
          headers: {
            'content-type': 'application/x-amz-json-1.1',
            'x-amz-target': 'secretsmanager.DescribeSecret',
            // The stand-in checks the header's shape, not the signature.
            authorization: 'AWS4-HMAC-SHA256 Credential=bench/20250101/us-east-1/secretsmanager/aws4_request, SignedHeaders=host, Signature=0',
          },
        },
        (res) => {
          if (res.statusCode !== 200) reject(new Error(`the stand-in answered ${String(res.statusCode)}`));
          res.resume();
          res.on('end', () => resolve(performance.now() - started));
          res.on('error', reject);
        },
      );
      req.on('error', reject);
      req.end(body);
    });
  await once();
  const ms = await once();
  fixture.sm.resetCalls();
  return ms;
}
