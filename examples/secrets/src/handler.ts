import { createHash } from 'node:crypto';
import { describeConfig, getConfig } from '@custom-runtime/config';
import { onAfterRestore, onBeforeSnapshot, type Handler } from '@custom-runtime/runtime';
import { config } from './config.js';

// Exported so that the runtime resolves it during init: the secret and the KMS value are
// fetched before the first invocation, and a missing one fails the init with its name. With
// SnapStart (template.yaml) the runtime also resolves it again after each restore, with fresh
// credentials, before the first invocation: nothing to do here for that.
export { config };

// Only with SnapStart: init ran once, when the version was published; this environment was
// restored from its snapshot, possibly days later.
let snapshotTakenAt: number | undefined;
onBeforeSnapshot(() => {
  snapshotTakenAt = Date.now();
});
onAfterRestore(() => {
  const age = snapshotTakenAt === undefined ? 'unknown' : `${Math.round((Date.now() - snapshotTakenAt) / 1000)} s`;
  console.log(`restored from the SnapStart snapshot (taken ${age} ago)`);
});

/** What the answer says about a value: never the value itself. */
export interface ValueFacts {
  /** Where the value came from. */
  readonly source: string;
  readonly present: boolean;
  /** Length in bytes (UTF-8). */
  readonly length?: number;
  /** The first 8 hex digits of its SHA-256: enough to compare two deployments, not to recover it. */
  readonly sha256?: string;
}

function facts(source: string, value: string | undefined): ValueFacts {
  if (value === undefined) return { source, present: false };
  const sha256 = createHash('sha256').update(value).digest('hex').slice(0, 8);
  return { source, present: true, length: Buffer.byteLength(value), sha256 };
}

let provenanceLogged = false;

/** Answers with what it resolved, as facts about each value (see {@link ValueFacts}). */
export const handler: Handler = async () => {
  const cfg = await getConfig(config);
  if (!provenanceLogged) {
    // Once per execution environment: where each value came from, values redacted.
    provenanceLogged = true;
    console.log(describeConfig(config));
  }
  return {
    handler: 'handler.handler',
    stage: cfg.stage,
    fields: {
      apiToken: facts('env API_TOKEN (NoEcho parameter ApiToken)', cfg.apiToken),
      resolvedPassword: facts('env RESOLVED_PASSWORD (dynamic reference, resolved at deploy time)', cfg.resolvedPassword),
      secretString: facts('Secrets Manager EXAMPLES_SECRET_ARN, whole SecretString', cfg.secretString),
      credentials: {
        source: 'Secrets Manager EXAMPLES_SECRET_ARN, parsed JSON',
        present: true,
        keys: Object.keys(cfg.credentials).sort(),
      },
      password: facts('Secrets Manager EXAMPLES_SECRET_ARN, JSON key password', cfg.password),
      requestToken: facts('payload requestToken', cfg.requestToken),
      legacyToken: facts('KMS Decrypt of LEGACY_TOKEN_ENCRYPTED', cfg.legacyToken),
      // Not a secret: the value itself.
      greeting: { source: 'Parameter Store EXAMPLES_PARAMETER (String)', present: true, value: cfg.greeting },
      parameterApiKey: facts('Parameter Store EXAMPLES_SECURE_PARAMETER (SecureString, decrypted)', cfg.parameterApiKey),
    },
    checks: {
      // CloudFormation resolved the reference at the last deploy, Secrets Manager answers with
      // the current value: they differ after a rotation, until the next deploy.
      dynamicReferenceIsCurrent: cfg.resolvedPassword === cfg.password,
      jsonKeyMatchesParsedSecret: cfg.password === cfg.credentials.password,
    },
  };
};
