// Cold start vs SnapStart restore of the secrets example, on the local stand-ins.
//
//   pnpm build && node examples/secrets/measure-snapstart.mjs [rounds]
//
// Cold start: from spawning the bootstrap to the first response (init, with its Secrets Manager
// and KMS calls, then the invocation). SnapStart: the same function initialised with
// AWS_LAMBDA_INITIALIZATION_TYPE=snap-start and paused on restore/next (the snapshot), then from
// the restore to the first response (after-restore refresh of the config, then the invocation).
// Both stand-ins answer after 20 ms, a Secrets Manager round trip from inside a region.
import { cp, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { startFunction, startKms, startSecretsManager } from '@custom-runtime/local';

const root = fileURLToPath(new URL('../..', import.meta.url));
const bootstrap = path.join(root, 'packages/runtime/dist/bootstrap');
const rounds = Number(process.argv[2] ?? 10);
const FUNCTION_NAME = 'secrets-snapstart';
const LATENCY_MS = 20;

const [sm, kms] = await Promise.all([startSecretsManager(), startKms()]);
sm.setLatency(LATENCY_MS);
kms.setLatency(LATENCY_MS);
const secret = sm.createSecret('examples/snapstart', JSON.stringify({ username: 'app', password: 'p'.repeat(24) }));
const key = kms.createKey();
const env = {
  APP_STAGE: 'dev',
  API_TOKEN: 'token-0123456789',
  RESOLVED_PASSWORD: 'p'.repeat(24),
  EXAMPLES_SECRET_ARN: secret.arn,
  LEGACY_TOKEN_ENCRYPTED: kms.encryptToBase64(key.keyId, 'legacy', { LambdaFunctionName: FUNCTION_NAME }),
  AWS_ENDPOINT_URL_SECRETS_MANAGER: sm.url,
  AWS_ENDPOINT_URL_KMS: kms.url,
  AWS_ACCESS_KEY_ID: 'measure',
  AWS_SECRET_ACCESS_KEY: 'measure',
  AWS_REGION: sm.region,
  AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
};
const taskRoot = await mkdtemp(path.join(tmpdir(), 'secrets-snapstart-'));
await cp(path.join(root, 'examples/secrets/dist'), taskRoot, { recursive: true });
const options = { bootstrap, taskRoot, handler: 'handler.handler', functionName: FUNCTION_NAME, env };

async function firstResponse(fn, since) {
  const result = await fn.invoke({});
  if (result.status !== 'success') throw new Error(`invocation failed: ${result.text()}\n${fn.logs()}`);
  return performance.now() - since;
}

async function coldStart() {
  const since = performance.now();
  const fn = await startFunction(options);
  try {
    return await firstResponse(fn, since);
  } finally {
    await fn.stop();
  }
}

async function snapStartRestore() {
  const fn = await startFunction({ ...options, snapStart: true });
  try {
    await fn.snapshot();
    const since = performance.now();
    await fn.restore();
    return await firstResponse(fn, since);
  } finally {
    await fn.stop();
  }
}

const cold = [];
const restored = [];
try {
  // One of each first, not counted: the file cache and the JIT of this process warm up.
  await coldStart();
  await snapStartRestore();
  for (let i = 0; i < rounds; i++) {
    cold.push(await coldStart());
    restored.push(await snapStartRestore());
  }
} finally {
  await Promise.all([sm.close(), kms.close()]);
  await rm(taskRoot, { recursive: true, force: true });
}

const stats = (ms) => {
  const s = [...ms].sort((a, b) => a - b);
  const median = s.length % 2 === 1 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
  return `${median.toFixed(1)} ms (${s[0].toFixed(1)}–${s[s.length - 1].toFixed(1)})`;
};
console.log(`node ${process.version}, ${rounds} rounds, stand-ins answering after ${LATENCY_MS} ms`);
console.log(`cold start, spawn to first response:       ${stats(cold)}`);
console.log(`SnapStart, restore to first response:      ${stats(restored)}`);
