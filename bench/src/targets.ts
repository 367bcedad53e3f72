import type { Section, TargetCheck } from './results.js';
import { ssmTargets, type SsmSection } from './ssm-bench.js';
import { median } from './stats.js';

const TWO_MB_IN_MIB = 2e6 / 2 ** 20;

function rounds(sections: readonly Section[], section: string, metric: string, subject: string): readonly number[] {
  return sections.find((s) => s.id === section)?.metrics.find((m) => m.id === metric)?.rounds[subject] ?? [];
}

function fmt(value: number, digits: number): string {
  return value.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });
}

/**
 * The figures the project wants to hold, judged on medians over the rounds (call counts and RSS
 * growth on every round: one bad round is a real finding there). Missing sections are skipped.
 */
export function checkTargets(sections: readonly Section[]): TargetCheck[] {
  const checks: TargetCheck[] = [];
  const runtime = (metric: string, subject: string): number => median(rounds(sections, 'runtime', metric, subject));
  const config = (metric: string, subject: string): readonly number[] => rounds(sections, 'config', metric, subject);

  for (const section of sections.filter((s) => s.id === 'coldStart' || s.id === 'coldStart22')) {
    const cold = (metric: string, subject: string): readonly number[] => rounds(sections, section.id, metric, subject);
    const node = section.id === 'coldStart22' ? 'Node 22' : 'Node 20';
    const response = median(cold('firstResponse', 'ours')) / median(cold('firstResponse', 'peer'));
    checks.push({
      target: `Cold start (${node}): spawn → first response ≤ 0.5× aws-lambda-ric + Powertools`,
      measured: `${fmt(median(cold('firstResponse', 'ours')), 1)} ms vs ${fmt(median(cold('firstResponse', 'peer')), 1)} ms = ${fmt(response, 2)}×`,
      holds: response <= 0.5,
    });
    const rss = median(cold('rss', 'ours')) / median(cold('rss', 'peer'));
    checks.push({
      target: `Cold start (${node}): RSS at the first response ≤ 0.9× aws-lambda-ric + Powertools`,
      measured: `${fmt(median(cold('rss', 'ours')), 1)} MiB vs ${fmt(median(cold('rss', 'peer')), 1)} MiB = ${fmt(rss, 2)}×`,
      holds: rss <= 0.9,
    });
    const calls = Math.max(...cold('secretsManagerCalls', 'ours'));
    checks.push({
      target: `Cold start (${node}): 1 Secrets Manager call for the 10 secrets (every spawn)`,
      measured: `${calls} call(s) at most; the peer ${fmt(median(cold('secretsManagerCalls', 'peer')), 0)}`,
      holds: calls === 1,
    });
  }

  if (sections.some((s) => s.id === 'runtime')) {
    const cpu = runtime('cpu', 'ours') / runtime('cpu', 'ric');
    checks.push({
      target: 'Runtime CPU per invocation ≤ 0.5× aws-lambda-ric',
      measured: `${fmt(runtime('cpu', 'ours'), 1)} µs vs ${fmt(runtime('cpu', 'ric'), 1)} µs = ${fmt(cpu, 2)}×`,
      holds: cpu <= 0.5,
    });
    const spawn = runtime('spawn', 'ours') / runtime('spawn', 'ric');
    checks.push({
      target: 'Spawn → first /next of a trivial handler ≤ 1.0× aws-lambda-ric',
      measured: `${fmt(runtime('spawn', 'ours'), 1)} ms vs ${fmt(runtime('spawn', 'ric'), 1)} ms = ${fmt(spawn, 2)}×`,
      holds: spawn <= 1.0,
    });
    const growth = Math.max(...rounds(sections, 'runtime', 'rssGrowth', 'ours'));
    checks.push({
      target: "RSS ≤ aws-lambda-ric's, and growth < 2 MB over the run (every round)",
      measured:
        `${fmt(runtime('rss', 'ours'), 1)} MiB vs ${fmt(runtime('rss', 'ric'), 1)} MiB; ` +
        `largest growth ${fmt(growth, 2)} MiB (2 MB = ${fmt(TWO_MB_IN_MIB, 2)} MiB)`,
      holds: runtime('rss', 'ours') <= runtime('rss', 'ric') && growth < TWO_MB_IN_MIB,
    });
  }

  if (sections.some((s) => s.id === 'config')) {
    const calls = Math.max(...config('coldCalls', 'ours'));
    const coldMs = median(config('coldMs', 'ours'));
    checks.push({
      target: '20 secrets cold: 1 Secrets Manager call (every round) and ≤ 1.5× one round trip (30 ms)',
      measured: `${calls} call(s) at most, ${fmt(coldMs, 1)} ms = ${fmt(coldMs / 20, 2)}× 20 ms`,
      holds: calls === 1 && coldMs <= 30,
    });
    const ours = median(config('warmNs', 'ours'));
    const powertools = median(config('warmNs', 'powertools'));
    checks.push({
      target: 'Warm getConfig ≤ 2 µs (20 values)',
      measured: `${fmt(ours, 0)} ns (Powertools' warm path for the same 20 values: ${fmt(powertools, 0)} ns, ${fmt(powertools / ours, 1)}× slower)`,
      holds: ours <= 2000,
    });
  }
  const ssm = sections.find((s): s is SsmSection => s.id === 'ssm');
  if (ssm !== undefined) checks.push(...ssmTargets(ssm));
  return checks;
}
