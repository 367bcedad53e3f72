// The cold-start function, ours: a config definition exported by the handler module, fetched by
// the bootstrap during init (one BatchGetSecretValue for the 10 secrets, one KMS Decrypt).
import { defineConfig, getConfig, kms, secret, type ConfigField } from '@custom-runtime/config';
import { answer, KMS_VARIABLE, SECRET_COUNT, secretVariable } from './values.js';

const secrets: Record<string, ConfigField<unknown>> = {};
for (let i = 0; i < SECRET_COUNT; i++) secrets[`secret${i}`] = secret(secretVariable(i), { key: 'password' });

export const config = defineConfig({ ...secrets, token: kms(KMS_VARIABLE, { encryptionContext: 'function-name' }) });

export const handler = async (): Promise<ReturnType<typeof answer>> => {
  const values = (await getConfig(config)) as Record<string, unknown>;
  return answer([...Array.from({ length: SECRET_COUNT }, (_, i) => String(values[`secret${i}`])), String(values.token)]);
};
