// The cold-start function as it is written for aws-lambda-ric with Powertools: the secrets
// fetched at the module's top level (top-level await, so during init), all at once, and the
// KMS-encrypted variable decrypted with the SDK's KMS client, in parallel.
import { getSecret } from '@aws-lambda-powertools/parameters/secrets';
import { DecryptCommand, KMSClient } from '@aws-sdk/client-kms';
import { answer, KMS_VARIABLE, SECRET_COUNT, secretVariable } from './values.js';

const kms = new KMSClient({});

async function decrypt(variable: string): Promise<string> {
  const { Plaintext } = await kms.send(
    new DecryptCommand({
      CiphertextBlob: Buffer.from(process.env[variable] ?? '', 'base64'),
      EncryptionContext: { LambdaFunctionName: process.env.AWS_LAMBDA_FUNCTION_NAME ?? '' },
    }),
  );
  return Buffer.from(Plaintext ?? new Uint8Array()).toString('utf8');
}

const [secrets, token] = await Promise.all([
  Promise.all(
    Array.from({ length: SECRET_COUNT }, (_, i) =>
      getSecret<{ password: string }>(process.env[secretVariable(i)] ?? '', { transform: 'json' }),
    ),
  ),
  decrypt(KMS_VARIABLE),
]);
const values = [...secrets.map((s) => String(s?.password)), token];

export const handler = async (): Promise<ReturnType<typeof answer>> => answer(values);
