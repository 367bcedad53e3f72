/**
 * The files of a new function project (`custom-runtime init`): every file as text, from the
 * project's name and the tarballs it depends on. One concern: what a project contains.
 */

/** What the files are made from. */
export interface ProjectSpec {
  /** The npm package name, also the stack and function name stem: lower case, digits, dashes. */
  readonly name: string;
  /** File names in `vendor/` of the tarballs, by package name. */
  readonly tarballs: Readonly<Record<'runtime' | 'config' | 'local' | 'cli', string>>;
}

/** The local seed file `invoke` reads by default. */
export const SEED_FILE = 'local-seed.json';

/** Relative path → contents, in the order they are listed to the user. */
export function projectFiles(spec: ProjectSpec): ReadonlyMap<string, string> {
  const { name } = spec;
  const secretName = `${name}/api`;
  return new Map<string, string>([
    ['package.json', packageJson(spec)],
    ['src/config.ts', CONFIG_TS],
    ['src/handler.ts', HANDLER_TS],
    ['tsconfig.json', TSCONFIG],
    ['test/handler.test.mjs', HANDLER_TEST],
    ['events/sample.json', `${JSON.stringify({ customerId: 'customer-42' }, null, 2)}\n`],
    [SEED_FILE, seedJson(secretName)],
    ['Dockerfile', DOCKERFILE],
    ['.dockerignore', 'node_modules\n.aws-sam\n'],
    ['template.yaml', templateYaml(name, secretName)],
    ['samconfig.toml', samconfig(name)],
    ['.gitignore', 'node_modules/\ndist/\n.aws-sam/\nresponse.json\n'],
    ['README.md', readme(name, secretName)],
  ]);
}

function packageJson({ name, tarballs }: ProjectSpec): string {
  const vendor = (file: string): string => `file:vendor/${file}`;
  return `${JSON.stringify(
    {
      name,
      version: '0.1.0',
      private: true,
      type: 'module',
      scripts: {
        build: 'custom-runtime build src/handler.ts',
        test: 'node --test test/',
        invoke: 'custom-runtime invoke -e events/sample.json',
        check: 'custom-runtime check',
      },
      dependencies: { '@custom-runtime/config': vendor(tarballs.config), zod: '^4.6.7' },
      devDependencies: {
        '@custom-runtime/cli': vendor(tarballs.cli),
        '@custom-runtime/local': vendor(tarballs.local),
        '@custom-runtime/runtime': vendor(tarballs.runtime),
      },
      engines: { node: '>=20.16' },
    },
    null,
    2,
  )}\n`;
}

const CONFIG_TS = `import { defineConfig, env, kms, payload, secret } from '@custom-runtime/config';
import { z } from 'zod';

/**
 * Where each value of the function comes from; template.yaml declares every variable read here
 * (\`npm run check\` verifies it, and the policies that let the function read the secret and
 * decrypt with the key).
 */
export const config = defineConfig({
  // A plain variable of template.yaml.
  stage: env('APP_STAGE', z.enum(['dev', 'test', 'prod'])),
  // A field of the invoke payload: only fields declared with payload() are read from the event.
  customerId: payload('customerId', z.string().min(1).optional()),
  // Secrets Manager at run time: API_KEY_SECRET holds the secret's ARN (!Ref), never its value.
  apiKey: secret('API_KEY_SECRET', { key: 'apiKey' }),
  // A base64 KMS ciphertext, encrypted with the encryption context the Lambda console uses,
  // {"LambdaFunctionName": <this function's name>}. Optional: empty until you deploy one.
  signingKey: kms('SIGNING_KEY_ENCRYPTED', z.string().min(1).optional(), { encryptionContext: 'function-name' }),
});
`;

const HANDLER_TS = `import { createHash } from 'node:crypto';
import { getConfig } from '@custom-runtime/config';
import type { Handler } from '@custom-runtime/runtime';
import { config } from './config.js';

// Exported so that the runtime resolves it during init: the secret and the KMS value are
// fetched before the first invocation, and a missing one fails the init, naming it.
export { config };

/** Facts about a value, never the value: whether it is there, its length, a short hash. */
function facts(value: string | undefined): { present: boolean; length?: number; sha256?: string } {
  if (value === undefined) return { present: false };
  return { present: true, length: value.length, sha256: createHash('sha256').update(value).digest('hex').slice(0, 8) };
}

export const handler: Handler<{ customerId?: string }> = async (_event, context) => {
  const cfg = await getConfig(config);
  return {
    functionName: context.functionName,
    stage: cfg.stage,
    customerId: cfg.customerId ?? null,
    apiKey: facts(cfg.apiKey),
    signingKey: facts(cfg.signingKey),
  };
};
`;

// For editors and `tsc --noEmit`; the bundle is made by esbuild, which does not type-check.
const TSCONFIG = `${JSON.stringify(
  {
    compilerOptions: {
      target: 'ES2022',
      module: 'NodeNext',
      moduleResolution: 'NodeNext',
      strict: true,
      noEmit: true,
      skipLibCheck: true,
      types: ['node'],
    },
    include: ['src'],
  },
  null,
  2,
)}\n`;

const HANDLER_TEST = `// npm test: the built handler (npm run build) run by the real bootstrap on local stand-ins of
// the Lambda Runtime API, Secrets Manager and KMS, seeded from ${SEED_FILE}.
import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { promisify } from 'node:util';

const run = promisify(execFile);

test('the handler answers with the secret and the KMS value resolved, as facts only', async () => {
  const { stdout } = await run('node_modules/.bin/custom-runtime', ['invoke', '-e', 'events/sample.json', '--json']);
  const report = JSON.parse(stdout);
  assert.equal(report.status, 'success', report.errorMessage);
  const seed = JSON.parse(await readFile('${SEED_FILE}', 'utf8'));
  const apiKey = Object.values(seed.secrets)[0].apiKey;
  const signingKey = seed.kms.SIGNING_KEY_ENCRYPTED;
  assert.deepEqual(report.response.apiKey, { present: true, length: apiKey.length, sha256: report.response.apiKey.sha256 });
  assert.equal(report.response.signingKey.present, true);
  assert.equal(report.response.signingKey.length, signingKey.length);
  assert.equal(report.response.customerId, 'customer-42');
  assert.equal(report.response.stage, 'dev');
  // Never a value in the response or the logs.
  for (const value of [apiKey, signingKey]) assert.equal(stdout.includes(value), false);
});
`;

function seedJson(secretName: string): string {
  return `${JSON.stringify(
    {
      secrets: { [secretName]: { apiKey: 'local-api-key-not-a-real-one' } },
      kms: { SIGNING_KEY_ENCRYPTED: 'local-signing-key-not-a-real-one' },
    },
    null,
    2,
  )}\n`;
}

const DOCKERFILE = `# The function's image: the bundles of \`npm run build\` and the custom-runtime bootstrap on
# provided.al2023, with Node.js 22 from the Lambda Node.js image. Build context: this directory.

# The bootstrap and the handler bundle, built with the same commands as on your machine.
FROM public.ecr.aws/lambda/nodejs:22 AS build
WORKDIR /src
COPY . .
# npm ci installs what package-lock.json (from your \`npm install\`) and vendor/ say.
RUN npm ci --no-audit --no-fund && npm run build

# Node.js for the bootstrap: the build Lambda runs for its managed nodejs22.x runtime, with the
# libraries it ships in /var/lang/lib. npm is not needed to run the bootstrap.
FROM public.ecr.aws/lambda/nodejs:22 AS node
RUN rm -rf /var/lang/lib/node_modules

FROM public.ecr.aws/lambda/provided:al2023
COPY --from=node /var/lang/bin/node /var/lang/bin/node
COPY --from=node /var/lang/lib /var/lang/lib
# The bootstrap's \`#!/usr/bin/env node\` needs node on the PATH.
ENV PATH=/var/lang/bin:/usr/local/bin:/usr/bin/:/bin:/opt/bin
COPY --from=build /src/dist/runtime/bootstrap /var/runtime/bootstrap
COPY --from=build /src/dist/runtime/init-request-sender.js /var/runtime/init-request-sender.js
# handler.mjs and its chunks: self-contained, no node_modules.
COPY --from=build /src/dist/task/ /var/task/
# Run once while the image is built: loads handler.mjs (its top-level code; nothing is fetched)
# and writes Node 22's compile cache, the runtime's code cache and the AWS calls your config
# makes at init, with placeholders for the variables' values, to /var/runtime. A cold start then
# skips compiling the bundle and the runtime and sends those calls while the handler loads.
RUN CUSTOM_RUNTIME_COMPILE_CACHE_FILL=1 /var/runtime/bootstrap handler.handler
CMD ["handler.handler"]
`;

function templateYaml(name: string, secretName: string): string {
  return `AWSTemplateFormatVersion: '2010-09-09'
Transform: AWS::Serverless-2016-10-31
Description: '${name}: a TypeScript function on the custom-runtime bootstrap (provided.al2023 image)'

Parameters:
  Stage:
    Type: String
    Default: dev
    AllowedValues: [dev, test, prod]
  SigningKeyCiphertext:
    Type: String
    NoEcho: true
    Default: ''
    Description: >-
      Base64 KMS ciphertext of the signing key, encrypted with the KeyId output and the encryption
      context LambdaFunctionName=<FunctionName output> (see README.md). Empty: no signing key.

Resources:
  AppFunction:
    Type: AWS::Serverless::Function
    Properties:
      # A fixed name: the KMS ciphertext is bound to it by its encryption context.
      FunctionName: !Sub '\${AWS::StackName}-app'
      PackageType: Image
      MemorySize: 256
      Timeout: 10
      Environment:
        Variables:
          APP_STAGE: !Ref Stage
          # The secret's ARN: the value is read at run time, never stored in the configuration.
          API_KEY_SECRET: !Ref ApiKeySecret
          SIGNING_KEY_ENCRYPTED: !Ref SigningKeyCiphertext
      Policies:
        # Least privilege: this secret and this key, nothing else.
        - AWSSecretsManagerGetSecretValuePolicy:
            SecretArn: !Ref ApiKeySecret
        # BatchGetSecretValue authorizes no secret by itself (its resource is "*"): each secret
        # it returns still needs GetSecretValue above. It lets the config fetch secrets in one call.
        - Statement:
            - Sid: BatchGetSecretValue
              Effect: Allow
              Action: secretsmanager:BatchGetSecretValue
              Resource: '*'
        - KMSDecryptPolicy:
            KeyId: !Ref SigningKey
    Metadata:
      Dockerfile: Dockerfile
      DockerContext: .
      DockerTag: v1

  ApiKeySecret:
    Type: AWS::SecretsManager::Secret
    Properties:
      Name: ${secretName}
      Description: '${name}: {"apiKey": ...}, generated'
      GenerateSecretString:
        SecretStringTemplate: '{}'
        GenerateStringKey: apiKey
        PasswordLength: 32
        ExcludePunctuation: true

  SigningKey:
    Type: AWS::KMS::Key
    Properties:
      Description: '${name}: encrypts the values the function decrypts with kms()'
      EnableKeyRotation: true
      PendingWindowInDays: 7
      KeyPolicy:
        Version: '2012-10-17'
        Statement:
          # The account administers the key and IAM policies grant its use: the function gets
          # kms:Decrypt from KMSDecryptPolicy.
          - Sid: AccountAdministersKeyAndDelegatesUseToIam
            Effect: Allow
            Principal:
              AWS: !Sub 'arn:\${AWS::Partition}:iam::\${AWS::AccountId}:root'
            Action: kms:*
            Resource: '*'

Outputs:
  FunctionName:
    Value: !Ref AppFunction
  KeyId:
    Value: !Ref SigningKey
  SecretArn:
    Value: !Ref ApiKeySecret
`;
}

function samconfig(name: string): string {
  return `# AWS SAM CLI settings for template.yaml. No secret belongs here: SigningKeyCiphertext is given
# with \`sam deploy --parameter-overrides\` (sam deploy --guided does not save NoEcho parameters).
version = 0.1

[default.global.parameters]
stack_name = "${name}"

[default.deploy.parameters]
capabilities = "CAPABILITY_IAM"
confirm_changeset = true
# An ECR repository for the image, created and managed by SAM.
resolve_image_repos = true
`;
}

function readme(name: string, secretName: string): string {
  return `# ${name}

A TypeScript Lambda function in a container image on \`provided.al2023\`, run by the
custom-runtime bootstrap, with its configuration typed and its secrets never logged.

| file | what |
| --- | --- |
| \`src/config.ts\` | where each value comes from: a variable, a payload field, a Secrets Manager secret, a KMS ciphertext |
| \`src/handler.ts\` | the handler; it answers with facts about the values, never the values |
| \`tsconfig.json\` | for your editor and \`tsc --noEmit\` (\`npm install --save-dev typescript @types/node\` first): the build bundles without type-checking |
| \`test/handler.test.mjs\` | \`npm test\`: the built handler on local stand-ins |
| \`events/sample.json\` | a sample event |
| \`${SEED_FILE}\` | the local stand-ins' values (below); never real secrets |
| \`Dockerfile\` | the image: bootstrap in /var/runtime, bundle in /var/task; its RUN step writes Node 22's compile cache, the runtime's code cache and the config's init calls, sent at a cold start while the handler loads |
| \`template.yaml\`, \`samconfig.toml\` | the function, its secret, its key and least-privilege policies |
| \`vendor/\` | the custom-runtime packages this project installs (\`file:\` dependencies) |

## Locally (Node.js 20 or later and npm; no Docker, no AWS account)

\`\`\`sh
npm install
npm run build                                 # dist/task/handler.mjs and dist/runtime/bootstrap
npm test                                      # the built handler on the local stand-ins
npx custom-runtime invoke -e events/sample.json
npx custom-runtime check                      # template.yaml against src/config.ts
\`\`\`

\`invoke\` runs dist/runtime/bootstrap with dist/task as /var/task (what the Dockerfile copies), the
variables of template.yaml (parameters at their defaults), and local stand-ins of Secrets
Manager and KMS seeded from \`${SEED_FILE}\`:

\`\`\`json
{
  "secrets": { "${secretName}": { "apiKey": "..." } },
  "kms": { "SIGNING_KEY_ENCRYPTED": "plaintext" }
}
\`\`\`

- \`secrets\`: secret name → value (a string, or a JSON object stored as its JSON text). A
  variable set to \`!Ref\` of a template secret with that \`Name\` gets the stand-in's ARN.
- \`kms\`: variable → plaintext. The variable is set to a fresh ciphertext of it, encrypted
  with the encryption context \`{"LambdaFunctionName": <function name>}\` (\`--function-name\`;
  default: the template's FunctionName, else its logical id). \`{"plaintext": "...",
  "encryptionContext": {...}}\` gives another context.

Other variables: \`--env KEY=VALUE\`, or \`--env-vars env.json\` in SAM's format
(\`{"Parameters": {...}}\` for every function, \`{"AppFunction": {...}}\` for one). Variables of
your shell are not passed, as with \`sam local invoke\`.

## Deploy (AWS SAM CLI and Docker)

\`\`\`sh
sam build
sam deploy --guided
FUNCTION_NAME=$(sam list stack-outputs --stack-name ${name} --output json | jq -r '.[] | select(.OutputKey=="FunctionName") | .OutputValue')
aws lambda invoke --function-name "$FUNCTION_NAME" --cli-binary-format raw-in-base64-out --payload file://events/sample.json response.json
cat response.json
\`\`\`

The answer shows \`signingKey: {"present": false}\` until you deploy a ciphertext: encrypt the
value with the stack's key and the function's name as the encryption context, then deploy it
as the NoEcho parameter:

\`\`\`sh
KEY_ID=$(sam list stack-outputs --stack-name ${name} --output json | jq -r '.[] | select(.OutputKey=="KeyId") | .OutputValue')
CIPHERTEXT=$(aws kms encrypt --key-id "$KEY_ID" --plaintext fileb://signing-key.txt \\
  --encryption-context LambdaFunctionName="$FUNCTION_NAME" --query CiphertextBlob --output text)
sam deploy --parameter-overrides SigningKeyCiphertext="$CIPHERTEXT"
\`\`\`

The secret's \`apiKey\` is generated by Secrets Manager at the first deploy; change it with
\`aws secretsmanager put-secret-value --secret-id ${secretName} --secret-string file://secret.json\`.
`;
}
