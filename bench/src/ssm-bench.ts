/**
 * Parameter Store: ours (`ssm()` fields) side by side with Powertools `getParametersByName`,
 * reading the same SecureString parameters from the Parameter Store stand-in, cold (fresh client
 * and cache) and warm (cached); and ours' warm access to the same number of Secrets Manager
 * secrets, the figure the Parameter Store path must match.
 *
 * A group of its own, registered in main.ts (`pnpm bench --only ssm` runs it alone).
 */
import { randomBytes } from 'node:crypto';
import { DEFAULT_PROVIDERS } from '@aws-lambda-powertools/parameters/base';
import { getParametersByName, SSMProvider } from '@aws-lambda-powertools/parameters/ssm';
import { clearConfigCache, defineConfig, getConfig, secret, ssm, type ConfigField } from '@custom-runtime/config';
import { startKms, startParameterStore, startSecretsManager, type KmsStandIn, type ParameterStoreStandIn, type SecretsManagerStandIn } from '@custom-runtime/local';
import { loadAverage } from './machine.js';
import { rotated } from './order.js';
import type { Metric, Section, Subject } from './results.js';
import { median } from './stats.js';

/** What {@link runSsmBench} measures. */
export interface SsmSettings {
  readonly rounds: number;
  readonly parameters: number;
  /** Injected per Parameter Store and Secrets Manager call. */
  readonly latencyMs: number;
  readonly oursWarmIterations: number;
  readonly peerWarmIterations: number;
}

type Log = (line: string) => void;

/** The Parameter Store section. */
export type SsmSection = Section & { readonly id: 'ssm' };

interface Fixture {
  readonly store: ParameterStoreStandIn;
  readonly sm: SecretsManagerStandIn;
  readonly kms: KmsStandIn;
  readonly names: readonly string[];
  readonly values: readonly string[];
}

const SUBJECTS: readonly Subject[] = [
  {
    id: 'ours',
    label: '@custom-runtime/config',
    how: 'defineConfig with one `ssm({ reference })` field per SecureString → getConfig; clearConfigCache() before each cold round',
  },
  {
    id: 'powertools',
    label: 'Powertools getParametersByName',
    how: 'getParametersByName({ name: {} …20 }, { decrypt: true, maxAge: 300 }); the default SSM provider is dropped before each cold round so it builds a new one',
  },
  {
    id: 'oursSecrets',
    label: '@custom-runtime/config, secrets',
    how: 'the same number of `secret({ reference })` fields from Secrets Manager, for the warm comparison',
  },
];

async function setUp(settings: SsmSettings): Promise<Fixture> {
  const [sm, kms] = await Promise.all([startSecretsManager(), startKms()]);
  const store = await startParameterStore({ kms, region: sm.region, accountId: sm.accountId });
  Object.assign(process.env, {
    AWS_ACCESS_KEY_ID: 'bench',
    AWS_SECRET_ACCESS_KEY: 'bench',
    AWS_SESSION_TOKEN: 'bench',
    AWS_REGION: sm.region,
    AWS_ENDPOINT_URL_SSM: store.url,
    AWS_ENDPOINT_URL_SECRETS_MANAGER: sm.url,
    AWS_ENDPOINT_URL_KMS: kms.url,
  });
  const names: string[] = [];
  const values: string[] = [];
  for (let i = 0; i < settings.parameters; i++) {
    const name = `/bench/service-${String(i).padStart(2, '0')}/password`;
    const value = randomBytes(18).toString('base64url');
    store.putParameter(name, value, { type: 'SecureString' });
    sm.createSecret(`bench/service-${i}`, value);
    names.push(name);
    values.push(value);
  }
  store.setLatency(settings.latencyMs);
  sm.setLatency(settings.latencyMs);
  return { store, sm, kms, names, values };
}

function parameterFields(fixture: Fixture): Record<string, ConfigField<unknown>> {
  return Object.fromEntries(fixture.names.map((name, i) => [`p${i}`, ssm({ reference: name })]));
}

function secretFields(fixture: Fixture): Record<string, ConfigField<unknown>> {
  return Object.fromEntries(fixture.names.map((_, i) => [`s${i}`, secret({ reference: `bench/service-${i}` })]));
}

function check(subject: string, got: unknown, want: string | undefined): void {
  if (got !== want) throw new Error(`${subject} read a wrong value`);
}

interface Cold {
  readonly ms: number;
  readonly calls: number;
}

async function timeCold(fixture: Fixture, body: () => Promise<void>): Promise<Cold> {
  fixture.store.resetCalls();
  const started = performance.now();
  await body();
  return { ms: performance.now() - started, calls: fixture.store.callCount() };
}

function coldOurs(fixture: Fixture): Promise<Cold> {
  const fields = parameterFields(fixture);
  clearConfigCache();
  return timeCold(fixture, async () => {
    const config = (await getConfig(defineConfig(fields))) as Record<string, unknown>;
    check('ours', config[`p${fixture.names.length - 1}`], fixture.values.at(-1));
  });
}

const POWERTOOLS_OPTIONS = { decrypt: true, maxAge: 300 } as const;

function powertoolsGetAll(names: readonly string[]): Promise<Record<string, unknown>> {
  return getParametersByName(Object.fromEntries(names.map((name) => [name, {}])), POWERTOOLS_OPTIONS) as Promise<Record<string, unknown>>;
}

function dropPowertoolsProvider(): void {
  const provider = DEFAULT_PROVIDERS.ssm;
  if (provider instanceof SSMProvider) provider.client.destroy();
  delete DEFAULT_PROVIDERS.ssm;
}

function coldPowertools(fixture: Fixture): Promise<Cold> {
  dropPowertoolsProvider();
  return timeCold(fixture, async () => {
    const values = await powertoolsGetAll(fixture.names);
    check('powertools', values[fixture.names.at(-1) as string], fixture.values.at(-1));
  });
}

async function nsPer(iterations: number, body: () => Promise<unknown>): Promise<number> {
  const started = process.hrtime.bigint();
  for (let i = 0; i < iterations; i++) await body();
  return Number(process.hrtime.bigint() - started) / iterations;
}

function fmt(value: number, digits = 1): string {
  return value.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });
}

interface RoundFigures {
  readonly cold: Record<'ours' | 'powertools', Cold>;
  readonly warm: Record<'ours' | 'powertools' | 'oursSecrets', number>;
}

async function oneRound(fixture: Fixture, settings: SsmSettings, round: number): Promise<RoundFigures> {
  // Cold resolutions in an order that rotates from round to round: neither always goes first.
  const cold: { ours?: Cold; powertools?: Cold } = {};
  const coldSteps = [async () => void (cold.ours = await coldOurs(fixture)), async () => void (cold.powertools = await coldPowertools(fixture))];
  for (const step of rotated(coldSteps, round)) await step();
  const { ours, powertools } = cold;
  if (ours === undefined || powertools === undefined) throw new Error('a cold step of the round did not run');

  const parameters = defineConfig(parameterFields(fixture));
  const secrets = defineConfig(secretFields(fixture));
  await Promise.all([getConfig(parameters), getConfig(secrets)]);
  fixture.store.resetCalls();
  fixture.sm.resetCalls();
  // Each ours loop runs twice, alternating, and the second pass counts: neither gets the JIT
  // warm-up of the other.
  await nsPer(settings.oursWarmIterations, () => getConfig(parameters));
  await nsPer(settings.oursWarmIterations, () => getConfig(secrets));
  const warm = {
    ours: await nsPer(settings.oursWarmIterations, () => getConfig(parameters)),
    oursSecrets: await nsPer(settings.oursWarmIterations, () => getConfig(secrets)),
    powertools: await nsPer(settings.peerWarmIterations, () => powertoolsGetAll(fixture.names)),
  };
  if (fixture.store.callCount() + fixture.sm.callCount() > 0) throw new Error('a warm loop made a call: a cache expired during the loop');
  return { cold: { ours, powertools }, warm };
}

/** The group: cold and warm figures per subject, one value per round. */
export async function runSsmBench(settings: SsmSettings, log: Log): Promise<SsmSection> {
  const fixture = await setUp(settings);
  const coldMs: Record<string, number[]> = { ours: [], powertools: [] };
  const coldCalls: Record<string, number[]> = { ours: [], powertools: [] };
  const warmNs: Record<string, number[]> = { ours: [], powertools: [], oursSecrets: [] };
  const roundLoad: number[] = [];
  try {
    log(`ssm: ${settings.parameters} SecureString parameters, ${settings.latencyMs} ms per call injected; warm-up round (discarded)`);
    await oneRound(fixture, settings, 0);
    for (let round = 1; round <= settings.rounds; round++) {
      roundLoad.push(loadAverage());
      const r = await oneRound(fixture, settings, round);
      for (const id of ['ours', 'powertools'] as const) {
        coldMs[id]?.push(r.cold[id].ms);
        coldCalls[id]?.push(r.cold[id].calls);
      }
      for (const id of ['ours', 'powertools', 'oursSecrets'] as const) warmNs[id]?.push(r.warm[id]);
      log(
        `ssm round ${round}/${settings.rounds}: cold ms (calls): ours ${fmt(r.cold.ours.ms)} (${r.cold.ours.calls}), ` +
          `powertools ${fmt(r.cold.powertools.ms)} (${r.cold.powertools.calls}); warm ns: ours ${fmt(r.warm.ours, 0)}, ` +
          `ours secrets ${fmt(r.warm.oursSecrets, 0)}, powertools ${fmt(r.warm.powertools, 0)}`,
      );
    }
  } finally {
    dropPowertoolsProvider();
    clearConfigCache();
    await Promise.all([fixture.store.close(), fixture.sm.close()]);
    await fixture.kms.close();
  }
  const metric = (id: string, title: string, unit: string, digits: number, rounds: Record<string, number[]>): Metric => ({
    id,
    title,
    unit,
    better: 'lower',
    digits,
    rounds,
  });
  const n = settings.parameters;
  return {
    id: 'ssm',
    title: `Config: ${n} SecureString parameters from Parameter Store (${settings.latencyMs} ms per call)`,
    subjects: SUBJECTS,
    metrics: [
      metric('coldMs', `Cold: ${n} parameters resolved (new client, empty cache)`, 'ms', 1, coldMs),
      metric('coldCalls', 'Cold: Parameter Store calls', 'calls', 0, coldCalls),
      metric('warmNs', `Warm: access to the ${n} values`, 'ns', 0, warmNs),
    ],
    notes: [
      `Ours takes its default path (signed JSON 1.1 calls of its own); Powertools the real @aws-sdk/client-ssm client it creates from the environment. Both reach the stand-in through AWS_ENDPOINT_URL_SSM; it answers each call after ${settings.latencyMs} ms and decrypts through the KMS stand-in.`,
      `Warm, ours: \`await getConfig(definition)\` (all ${n} values), mean over ${settings.oursWarmIterations.toLocaleString('en-US')} calls per round; "ours, secrets" is the same for ${n} Secrets Manager fields.`,
      `Warm, Powertools: one cached getParametersByName call for the ${n} names, mean over ${settings.peerWarmIterations.toLocaleString('en-US')} per round.`,
    ],
    samples: { loadAverageAtRoundStart: roundLoad },
  };
}

/** The targets of issue 13: 20 parameters cold in at most 2 calls; warm as fast as secrets. */
export function ssmTargets(section: SsmSection): Array<{ target: string; measured: string; holds: boolean }> {
  const rounds = (id: string, who: string): readonly number[] => section.metrics.find((m) => m.id === id)?.rounds[who] ?? [];
  const calls = Math.max(...rounds('coldCalls', 'ours'));
  const warm = median(rounds('warmNs', 'ours'));
  const secrets = median(rounds('warmNs', 'oursSecrets'));
  return [
    { target: 'Parameter Store: 20 parameters cold in ≤ 2 calls', measured: `${calls} call(s) at most`, holds: calls <= 2 },
    // "As fast": within 10 % of the secrets path, the noise of one round on a shared machine.
    { target: 'Parameter Store: warm access as fast as secrets (within 10 %)', measured: `${fmt(warm, 0)} ns vs ${fmt(secrets, 0)} ns`, holds: warm <= secrets * 1.1 },
  ];
}
