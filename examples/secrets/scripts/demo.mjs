// `pnpm --filter @custom-runtime/example-secrets demo`, after `pnpm build`: the secrets example
// on this machine, on the local stand-ins of Secrets Manager and KMS (never AWS), with the built
// bootstrap. Both functions of template.yaml run once each; the values are random and never
// printed, only what the handlers say about them.
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { startFunction, startKms, startSecretsManager } from '@custom-runtime/local';

const taskRoot = fileURLToPath(new URL('..', import.meta.url));
const bootstrap = createRequire(import.meta.url).resolve('@custom-runtime/runtime/bootstrap');
for (const file of [bootstrap, `${taskRoot}dist/handler.mjs`, `${taskRoot}dist/config.mjs`]) {
  if (!existsSync(file)) {
    console.error(`${file} is missing: run \`pnpm build\` at the repository root first`);
    process.exit(1);
  }
}

const secretsManager = await startSecretsManager();
const kms = await startKms({ region: secretsManager.region, accountId: secretsManager.accountId });
try {
  // What `sam deploy` would have made: the generated secret, the key, the NoEcho parameter.
  const password = randomBytes(24).toString('base64url');
  const secret = secretsManager.createSecret('custom-runtime-examples-ExamplesSecret', JSON.stringify({ username: 'example', password }));
  const key = kms.createKey({ description: 'ExamplesKey' });
  const apiToken = `api-${randomBytes(18).toString('base64url')}`;
  console.log(`Secrets Manager stand-in ${secretsManager.url}, secret ${secret.arn}`);
  console.log(`KMS stand-in ${kms.url}, key ${key.keyId}\n`);

  const functions = [
    { name: 'SecretsFunction', handler: 'dist/handler.handler', env: {} },
    // In the image config.mjs is at /var/task/config.mjs (config.config); here it is in dist/.
    { name: 'SecretsShellFunction', handler: 'handler.sh', env: { CUSTOM_RUNTIME_CONFIG: 'dist/config.config' } },
  ];
  for (const { name, handler, env } of functions) {
    const fn = await startFunction({
      bootstrap,
      taskRoot,
      handler,
      functionName: name,
      region: secretsManager.region,
      env: {
        ...env,
        APP_STAGE: 'dev',
        API_TOKEN: apiToken,
        // CloudFormation would have resolved {{resolve:secretsmanager:...:SecretString:password}}.
        RESOLVED_PASSWORD: password,
        EXAMPLES_SECRET_ARN: secret.arn,
        // The Lambda console helper's context names the function: one ciphertext per function.
        LEGACY_TOKEN_ENCRYPTED: kms.encryptToBase64(key.keyId, `legacy-token-of-${name}`, { LambdaFunctionName: name }),
        AWS_ENDPOINT_URL_SECRETS_MANAGER: secretsManager.url,
        AWS_ENDPOINT_URL_KMS: kms.url,
        AWS_ACCESS_KEY_ID: 'local',
        AWS_SECRET_ACCESS_KEY: 'local',
      },
    });
    try {
      const result = await fn.invoke({ requestToken: 'a value from the invoke payload' });
      console.log(`${name} (${handler}): ${result.status}`);
      console.log(result.status === 'success' ? JSON.stringify(result.json(), null, 2) : result.text());
      console.log('');
    } finally {
      await fn.stop();
    }
  }
  console.log(`Secrets Manager calls: ${secretsManager.calls.map((c) => c.operation).join(', ')}`);
  console.log(`KMS calls: ${kms.calls.map((c) => c.operation).join(', ')}`);
} finally {
  await secretsManager.close();
  await kms.close();
}
