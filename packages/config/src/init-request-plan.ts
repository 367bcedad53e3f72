/**
 * A definition's init calls as an image stores them: what its prefetch would send to Secrets
 * Manager and KMS, with each value its variables give at run time left as a placeholder. Written
 * while the image is built (the runtime's fill step), sent by the runtime ahead of the handler
 * import (init-request-sender.ts); docs/design.md, "Init requests ahead of the handler".
 */
import { recordCalls } from './aws/init-requests.js';
import { clearConfigCache, type DefinitionState } from './definition-state.js';
import { Resolution } from './field-resolution.js';
import { NO_EVENT } from './invocation.js';
import type { PlaceholderKind, PlannedRequest } from './init-request-sender.js';

const { randomBytes } = process.getBuiltinModule('node:crypto');

// The services whose calls the sender may send; Parameter Store values stay with the handler.
const SENT_AHEAD = new Set(['secretsmanager', 'kms']);

/** The variables a definition's static Secrets Manager and KMS sources read, and what they hold. */
function variablesOf(state: DefinitionState): Map<string, PlaceholderKind> {
  const variables = new Map<string, PlaceholderKind>();
  for (const plan of state.plan) {
    for (const source of plan.staticSources) {
      if (source.kind === 'secretsmanager' && source.envName !== undefined) variables.set(source.envName, 'secret-id');
      if (source.kind === 'kms' && source.input.kind === 'env') {
        variables.set(source.input.name, 'ciphertext');
        if (source.encryptionContext === 'function-name') variables.set('AWS_LAMBDA_FUNCTION_NAME', 'text');
      }
    }
  }
  return variables;
}

/** A value of the right form that no real value shares. */
function placeholder(kind: PlaceholderKind): string {
  // Canonical base64 of random bytes, as a ciphertext must be; a secret name otherwise.
  return kind === 'ciphertext' ? randomBytes(24).toString('base64') : `initph${randomBytes(9).toString('hex')}`;
}

/**
 * Records the calls `state`'s prefetch makes first, with placeholders in the variables its
 * sources read, and restores the environment. Never sends anything; calls through a
 * user-supplied SDK client, Parameter Store calls and follow-up calls are not listed.
 */
export function planInitRequests(state: DefinitionState): Promise<PlannedRequest[]> {
  // One at a time: each replaces variables of the one process environment while it records.
  const run = planning.then(() => record(state));
  planning = run.catch(() => undefined);
  return run;
}

let planning: Promise<unknown> = Promise.resolve();

async function record(state: DefinitionState): Promise<PlannedRequest[]> {
  const variables = variablesOf(state);
  if (variables.size === 0) return [];
  const saved = new Map<string, string | undefined>();
  const byPlaceholder = new Map<string, { env: string; kind: PlaceholderKind }>();
  let calls;
  try {
    for (const [name, kind] of variables) {
      saved.set(name, process.env[name]);
      const value = placeholder(kind);
      byPlaceholder.set(value, { env: name, kind });
      process.env[name] = value;
    }
    clearConfigCache();
    calls = await recordCalls(() => {
      void new Resolution(state, NO_EVENT).resolveFields(state.plan, 'static').catch(() => undefined);
    });
  } finally {
    for (const [name, value] of saved) {
      if (value === undefined) delete process.env[name];
      else process.env[name] = value;
    }
    // The recorded calls never answer: their cache entries must not outlive the recording.
    clearConfigCache();
  }
  const planned: PlannedRequest[] = [];
  for (const call of calls) {
    if (!SENT_AHEAD.has(call.service)) continue;
    const placeholders: Record<string, { env: string; kind: PlaceholderKind }> = {};
    let intact = true;
    for (const [value, variable] of byPlaceholder) {
      if (!call.body.includes(value)) continue;
      // Only a whole JSON string can be replaced at run time; a value the package transformed cannot.
      if (!call.body.includes(JSON.stringify(value))) intact = false;
      placeholders[value] = variable;
    }
    if (intact) planned.push({ service: call.service as PlannedRequest['service'], operation: call.operation, body: call.body, placeholders });
  }
  return planned;
}
