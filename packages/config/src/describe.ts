import { definitionState, type ConfigDefinition, type FieldMap } from './definition.js';
import type { Source } from './field.js';
import { inspectConfig } from './inspect.js';
import { REDACTED } from './redaction.js';
import { locationOf, type FieldPlan, type FieldResolution } from './field-resolution.js';

/**
 * Describes each field's sources and resolution state, values redacted, without any I/O:
 *
 * ```text
 * config: resolved 4s ago, valid for 296s
 *   tableName   env TABLE_NAME                    resolved from env TABLE_NAME = [redacted]
 *   apiKey      secretsmanager via env API_KEY    resolved from secretsmanager "prod/api", fetched 4s ago = [redacted]
 *   customerId  payload customer.id               per invocation
 * ```
 */
export function describeConfig<F extends FieldMap>(definition: ConfigDefinition<F>): string {
  const state = definitionState(definition);
  const snapshot = state.snapshot;
  const issues = state.lastIssues;
  const now = Date.now();
  const header =
    snapshot !== undefined
      ? `config: resolved ${seconds(now - snapshot.createdAt)} ago, ${
          Number.isFinite(snapshot.validUntil) ? `valid for ${seconds(Math.max(0, snapshot.validUntil - now))}` : 'no expiry'
        }`
      : issues !== undefined
        ? `config: last resolution failed (${issues.length} ${issues.length === 1 ? 'field' : 'fields'})`
        : 'config: not resolved yet';
  // The plan and the inspection both follow the order of the definition's fields.
  const sources = inspectConfig(definition).map((info) => info.sources.map((s) => s.location).join(' | '));
  const width = Math.max(...state.plan.map((p) => p.key.length), 0);
  const sourceWidth = Math.max(...sources.map((s) => s.length), 0);
  const lines = state.plan.map((plan) => {
    const failed = issues?.find((i) => i.field === plan.key);
    const status = failed !== undefined ? `failed: ${failed.message}` : statusOf(plan, snapshot?.resolutions[plan.index], now);
    return `  ${plan.key.padEnd(width)}  ${(sources[plan.index] ?? '').padEnd(sourceWidth)}  ${status}`;
  });
  return [header, ...lines].join('\n');
}

function statusOf(plan: FieldPlan, resolution: FieldResolution | undefined, now: number): string {
  if (resolution === undefined) return 'not resolved';
  switch (resolution.state) {
    case 'dynamic':
      return 'per invocation';
    case 'default':
      return `no source present: schema default = ${REDACTED}`;
    case 'value': {
      const source = plan.field.sources[resolution.sourceIndex] as Source;
      const fetched = resolution.fetched;
      const from = fetched !== undefined ? fetched.label : locationOf(source);
      const age = fetched !== undefined ? `, fetched ${seconds(now - fetched.fetchedAt)} ago${fetched.stale ? ' (stale: refresh failing)' : ''}` : '';
      return `resolved from ${from}${age} = ${REDACTED}`;
    }
  }
}

function seconds(ms: number): string {
  return `${Math.round(ms / 1000)}s`;
}
