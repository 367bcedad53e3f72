import { defineConfig, env, kms, payload, secret, ssm } from '@custom-runtime/config';
import { z } from 'zod';

/**
 * One field per way of handing a value to the function (the seed's "Environment variables" and
 * "Secrets" sections). template.yaml declares every variable read here, for both functions.
 *
 * The shell-script variant gets the same values as environment variables
 * (`CUSTOM_RUNTIME_CONFIG=config.config`): each field under its key in UPPER_SNAKE_CASE
 * (`apiToken` → `API_TOKEN`), objects as JSON.
 */
export const config = defineConfig({
  // A plain variable from template.yaml: not a secret.
  stage: env('APP_STAGE', z.enum(['dev', 'test', 'prod'])),

  // A NoEcho template parameter (`sam deploy --parameter-overrides ApiToken=...`). CloudFormation
  // hides it from its own output, but Lambda stores it as a plain variable: marked sensitive,
  // it is redacted like a secret wherever the config is printed or thrown.
  apiToken: env('API_TOKEN', z.string().min(8)).sensitive(),

  // A `{{resolve:secretsmanager:...}}` dynamic reference, resolved by CloudFormation at deploy
  // time: what arrives is the plaintext, also readable in the function's configuration.
  resolvedPassword: env('RESOLVED_PASSWORD').sensitive(),

  // Secrets Manager at run time: the variable holds the secret's ARN (`!Ref`), never its value.
  // Three fields, one fetch (BatchGetSecretValue, during init).
  secretString: secret('EXAMPLES_SECRET_ARN'),
  credentials: secret('EXAMPLES_SECRET_ARN', z.object({ username: z.string(), password: z.string().min(16) })),
  password: secret('EXAMPLES_SECRET_ARN', { key: 'password' }),

  // The invoke payload: only a field that declares payload() is ever read from the event.
  requestToken: payload('requestToken', z.string().min(1).optional()),

  // Base64 ciphertext encrypted with the key of template.yaml and the Lambda console helper's
  // encryption context, {"LambdaFunctionName": <this function's name>}. Optional: empty until
  // you encrypt a value and deploy it (see README.md).
  legacyToken: kms('LEGACY_TOKEN_ENCRYPTED', z.string().optional(), { encryptionContext: 'function-name' }),

  // Parameter Store at run time: the variables hold parameter names, fetched together in one
  // GetParameters call during init. A String parameter, declared as such: not a secret, printed
  // in logs as it is.
  greeting: ssm('EXAMPLES_PARAMETER', { type: 'String' }),
  // A SecureString (CloudFormation cannot create one: `aws ssm put-parameter --type
  // SecureString`), decrypted at run time and redacted like a secret. Optional: the template's
  // SecureParameterName is empty until you create one (see README.md).
  parameterApiKey: ssm('EXAMPLES_SECURE_PARAMETER', z.string().optional(), { type: 'SecureString' }),
});
