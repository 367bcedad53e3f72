import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../src/cli.js';
import type { CheckReport } from '../src/commands/check.js';
import { layoutOf } from '../src/image-layout.js';
import { captureIo } from './capture-io.js';
import { literal, matchPattern, token, type Pattern } from '../src/patterns.js';
import { secretArnForName } from '../src/template-patterns.js';

const FIXTURES = fileURLToPath(new URL('./fixtures/check/', import.meta.url));

interface Run {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

async function check(args: readonly string[], cwd = FIXTURES): Promise<Run> {
  const captured = captureIo({ cwd });
  const code = await runCli(['check', ...args], captured.io);
  return { code, stdout: captured.stdout(), stderr: captured.stderr() };
}

async function report(template: string, ...flags: string[]): Promise<{ code: number; report: CheckReport }> {
  const run = await check(['--template', template, '--json', ...flags]);
  return { code: run.code, report: JSON.parse(run.stdout) as CheckReport };
}

function errors(result: { report: CheckReport }): Array<CheckReport['findings'][number]> {
  return result.report.findings.filter((f) => f.level === 'error');
}

// Values in the fixtures that must never appear in any output.
const NEVER_PRINTED = ['parameter-default-never-printed', 'orders-value-never-printed', 'ciphertext-value-never-printed', 'fixture'.concat('-value')];

describe('check on the fixtures', () => {
  it('passes on a template that declares and grants everything, and says so', async () => {
    const run = await check([]);
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    expect(run.stdout).toContain('template.yaml: 2 functions, 1 with a config definition');
    expect(run.stdout).toMatch(/AppFunction {2}app\/build\/app\.mjs \(config\)/);
    // Optional reads and functions without a definition are notes, not failures.
    expect(run.stdout).toMatch(/info {5}customerId \(env CUSTOMER_ID\): CUSTOMER_ID is not declared; the event may fill it/);
    expect(run.stdout).toMatch(/ScriptFunction {2}command run\.sh\n {2}info {5}no config definition found/);
    expect(run.stdout).toMatch(/0 errors, 0 warnings, 2 notes: ok\n$/);
    for (const value of NEVER_PRINTED) expect(run.stdout).not.toContain(value);
  });

  it('passes when the variables are declared only in Globals.Function', async () => {
    const result = await report('globals.yaml');
    expect(result.code).toBe(0);
    expect(errors(result)).toEqual([]);
  });

  it('reports a required variable the function does not declare, with the fix', async () => {
    const run = await check(['--template', 'missing-variable.yaml']);
    expect(run.code).toBe(1);
    expect(run.stdout).toContain(
      '  error    legacyToken (kms via env LEGACY_TOKEN_ENCRYPTED) is required, but the function does not declare LEGACY_TOKEN_ENCRYPTED\n' +
        '           fix: add to Resources.AppFunction.Properties.Environment.Variables (or Globals.Function.Environment.Variables):\n' +
        '                  LEGACY_TOKEN_ENCRYPTED: ...\n',
    );
    expect(run.stdout).toMatch(/1 error, 0 warnings, 2 notes: FAILED\n$/);
    const result = await report('missing-variable.yaml');
    expect(errors(result)).toEqual([
      expect.objectContaining({ code: 'missing-variable', function: 'AppFunction', definition: 'config', field: 'legacyToken', envName: 'LEGACY_TOKEN_ENCRYPTED' }),
    ]);
  });

  it('reports a secret without a GetSecretValue grant and the policy template to add', async () => {
    const run = await check(['--template', 'missing-secret-policy.yaml']);
    expect(run.code).toBe(1);
    expect(run.stdout).toContain(
      '  error    db (secret via env DB_SECRET = !Ref DbSecret): no policy grants secretsmanager:GetSecretValue on it\n' +
        '           fix: add to Resources.AppFunction.Properties.Policies:\n' +
        '                  - AWSSecretsManagerGetSecretValuePolicy:\n' +
        '                      SecretArn: !Ref DbSecret\n',
    );
  });

  it('reports a policy on another secret as no grant', async () => {
    const result = await report('wrong-secret-policy.yaml');
    expect(result.code).toBe(1);
    expect(errors(result)).toEqual([
      expect.objectContaining({ code: 'missing-secret-policy', function: 'AppFunction', field: 'db', envName: 'DB_SECRET' }),
    ]);
  });

  it('reports a KMS field without kms:Decrypt and suggests KMSDecryptPolicy on the template\'s key', async () => {
    const result = await report('missing-kms-policy.yaml');
    expect(result.code).toBe(1);
    const [finding] = errors(result);
    expect(finding).toMatchObject({ code: 'missing-kms-policy', function: 'AppFunction', field: 'legacyToken', envName: 'LEGACY_TOKEN_ENCRYPTED' });
    expect(finding!.fix).toBe('add to Resources.AppFunction.Properties.Policies:\n  - KMSDecryptPolicy:\n      KeyId: !Ref TokenKey');
  });

  it('prints one JSON document with the template, the verdict, counts, functions and findings', async () => {
    const { code, report: json } = await report('template.yaml');
    expect(code).toBe(0);
    expect(json).toEqual({
      template: 'template.yaml',
      ok: true,
      strict: false,
      counts: { error: 0, warning: 0, info: 2 },
      functions: [
        { logicalId: 'AppFunction', packageType: 'Image', handler: 'app.handler', handlerKind: 'module', module: 'app/build/app.mjs', definitions: ['config'] },
        { logicalId: 'ScriptFunction', packageType: 'Image', handler: 'run.sh', handlerKind: 'command', definitions: [] },
      ],
      findings: [
        {
          level: 'info',
          code: 'optional-variable',
          function: 'AppFunction',
          definition: 'config',
          field: 'customerId',
          envName: 'CUSTOMER_ID',
          message: 'customerId (env CUSTOMER_ID): CUSTOMER_ID is not declared; the event may fill it',
        },
        {
          level: 'info',
          code: 'no-definition',
          function: 'ScriptFunction',
          message: 'no config definition found (command handler run.sh without CUSTOM_RUNTIME_CONFIG)',
        },
      ],
    });
  });

  it('runs from the built bin with plain Node, the fixture module importing the built config package', () => {
    const main = fileURLToPath(new URL('../dist/main.js', import.meta.url));
    if (!existsSync(main)) throw new Error(`${main} is missing: run \`pnpm build\` first`);
    const passing = spawnSync(process.execPath, [main, 'check'], { cwd: FIXTURES, encoding: 'utf8' });
    expect(passing.status).toBe(0);
    expect(passing.stdout).toMatch(/0 errors, 0 warnings, 2 notes: ok\n$/);
    const failing = spawnSync(process.execPath, [main, 'check', '--template', 'missing-secret-policy.yaml', '--json'], { cwd: FIXTURES, encoding: 'utf8' });
    expect(failing.status).toBe(1);
    expect((JSON.parse(failing.stdout) as CheckReport).counts).toEqual({ error: 1, warning: 0, info: 2 });
  });

  it('explains itself with --help and refuses a missing template with exit 2', async () => {
    const help = await check(['--help']);
    expect(help.code).toBe(0);
    expect(help.stdout).toMatch(/^Usage: custom-runtime check \[--template FILE\] \[--json\] \[--strict\]/);
    const missing = await check(['--template', 'nope.yaml']);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toMatch(/^custom-runtime check: no template at .*nope\.yaml\n$/);
    const none = await check([], tmpdir());
    expect(none.code).toBe(2);
    expect(none.stderr).toContain('no template.yaml or template.yml');
  });
});

describe('check on generated templates', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'check-'));
  });
  afterAll(() => rm(dir, { recursive: true, force: true }));

  /** Writes a template whose image functions build from the fixtures' Dockerfile. */
  async function write(name: string, resources: string, extra = ''): Promise<string> {
    const file = path.join(dir, name);
    await writeFile(file, `Transform: AWS::Serverless-2016-10-31\n${extra}Resources:\n${resources}`);
    return file;
  }

  const image = `    Metadata:\n      Dockerfile: Dockerfile\n      DockerContext: ${FIXTURES}\n`;

  it('runs a command handler\'s CUSTOM_RUNTIME_CONFIG module; BatchGetSecretValue missing is a warning, failing only with --strict', async () => {
    const file = await write(
      'command.yaml',
      `  Script:
    Type: AWS::Serverless::Function
    Properties:
      PackageType: Image
      ImageConfig:
        Command: [run.sh]
      Environment:
        Variables:
          CUSTOM_RUNTIME_CONFIG: config.config
          GREETING: hello
          TOKEN_SECRET: fixture/token
      Policies:
        - Statement:
            - Effect: Allow
              Action: [secretsmanager:GetSecretValue]
              Resource: !Sub arn:\${AWS::Partition}:secretsmanager:\${AWS::Region}:\${AWS::AccountId}:secret:fixture/*
${image}`,
    );
    const result = await report(file);
    expect(result.code).toBe(0);
    expect(result.report.functions[0]).toMatchObject({ handlerKind: 'command', module: expect.stringMatching(/app\/build\/config\.mjs$/), definitions: ['config'] });
    expect(result.report.findings).toEqual([
      expect.objectContaining({ level: 'warning', code: 'missing-batch-policy', function: 'Script', fix: expect.stringContaining("Action: secretsmanager:BatchGetSecretValue\n        Resource: '*'") }),
    ]);
    // NEVER_CHECKED belongs to another export of the module.
    expect(JSON.stringify(result.report)).not.toContain('NEVER_CHECKED');
    expect((await report(file, '--strict')).code).toBe(1);
  });

  it('matches a name-only reference only with a resource that could cover secret:NAME-??????', async () => {
    const fn = (resource: string): string => `  Script:
    Type: AWS::Serverless::Function
    Properties:
      PackageType: Image
      ImageConfig:
        Command: [run.sh]
      Environment:
        Variables:
          CUSTOM_RUNTIME_CONFIG: config.config
          GREETING: hello
          TOKEN_SECRET: fixture/token
      Policies:
        - Statement:
            - Effect: Allow
              Action: [secretsmanager:GetSecretValue, secretsmanager:BatchGetSecretValue]
              Resource: ['*']
            - Effect: Allow
              Action: secretsmanager:GetSecretValue
              Resource: ${resource}
${image}`;
    const code = async (resource: string): Promise<string[]> => {
      const file = await write('name.yaml', fn(resource).replace("Resource: ['*']", "Resource: '*'").replace('secretsmanager:GetSecretValue, secretsmanager:BatchGetSecretValue', 'secretsmanager:BatchGetSecretValue'));
      return (await report(file)).report.findings.map((f) => `${f.level} ${f.code}`);
    };
    expect(await code('arn:aws:secretsmanager:eu-west-1:123456789012:secret:fixture/token-??????')).toEqual([]);
    expect(await code('arn:aws:secretsmanager:*:*:secret:fixture/tok*')).toEqual([]);
    expect(await code('arn:aws:secretsmanager:eu-west-1:123456789012:secret:fixture/token')).toEqual(['error missing-secret-policy']);
    expect(await code('arn:aws:secretsmanager:eu-west-1:123456789012:secret:other/*')).toEqual(['error missing-secret-policy']);
    // A literal suffix may or may not be this secret's: the template cannot tell.
    expect(await code('arn:aws:secretsmanager:eu-west-1:123456789012:secret:fixture/token-AbC123')).toEqual(['warning unverified-secret-policy']);
  });

  it('reads a zip function\'s Handler in CodeUri and its Role\'s policies; a dynamic reference in a secret variable is an error', async () => {
    const file = await write(
      'zip.yaml',
      `  Fn:
    Type: AWS::Serverless::Function
    Properties:
      Runtime: nodejs22.x
      CodeUri: ${path.join(FIXTURES, 'app/build')}
      Handler: app.handler
      Role: !GetAtt FnRole.Arn
      Environment:
        Variables:
          TABLE_NAME: t
          MODE: m
          API_KEY_SECRET: '{{resolve:secretsmanager:fixture/api:SecretString:apiKey}}'
          DB_SECRET: !Ref DbParameter
          LEGACY_TOKEN_ENCRYPTED: c
  FnRole:
    Type: AWS::IAM::Role
    Properties:
      ManagedPolicyArns: [arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole]
      Policies:
        - PolicyName: read
          PolicyDocument:
            Statement:
              - Effect: Allow
                Action: secretsmanager:GetSecretValue
                Resource: !Ref DbParameter
              - Effect: Allow
                Action: 'kms:*'
                Resource: '*'
  Batch:
    Type: AWS::IAM::Policy
    Properties:
      Roles: [!Ref FnRole]
      PolicyDocument:
        Statement:
          Effect: Allow
          Action: secretsmanager:Batch*
          Resource: '*'
`,
      'Parameters:\n  DbParameter:\n    Type: String\n    NoEcho: true\n    Default: parameter-default-never-printed\n',
    );
    const run = await check(['--template', file]);
    expect(run.code).toBe(1);
    const result = await report(file);
    expect(result.report.functions[0]).toMatchObject({ packageType: 'Zip', handlerKind: 'module', definitions: ['config'] });
    expect(errors(result)).toEqual([expect.objectContaining({ code: 'resolved-reference', field: 'apiKey', envName: 'API_KEY_SECRET' })]);
    expect(result.report.findings.filter((f) => f.level === 'warning')).toEqual([]);
    expect(run.stdout).not.toContain('parameter-default-never-printed');
  });

  it('finds a dynamic reference in a secret variable built with !Sub, !Join or !Ref parts (the value deployed is the secret itself)', async () => {
    const forms: Array<[string, string]> = [
      ['sub', `!Sub '{{resolve:secretsmanager:\${ApiSecret}:SecretString:apiKey}}'`],
      ['sub-list', `!Sub ['{{resolve:secretsmanager:\${Id}:SecretString:apiKey}}', { Id: !Ref ApiSecret }]`],
      ['join', `!Join ['', ['{{resolve:secretsmanager:', !Ref ApiSecret, ':SecretString:apiKey}}']]`],
      ['join-split-marker', `!Join [':', ['{{resolve', 'secretsmanager', !Ref ApiSecret, 'SecretString', 'apiKey}}']]`],
    ];
    for (const [name, value] of forms) {
      const file = await write(
        `dynamic-${name}.yaml`,
        `  Fn:
    Type: AWS::Serverless::Function
    Properties:
      PackageType: Image
      ImageConfig:
        Command: [app.handler]
      Environment:
        Variables:
          TABLE_NAME: t
          API_KEY_SECRET: ${value}
          DB_SECRET: !Ref ApiSecret
          LEGACY_TOKEN_ENCRYPTED: c
      Policies:
        - AWSSecretsManagerGetSecretValuePolicy:
            SecretArn: !Ref ApiSecret
        - KMSDecryptPolicy:
            KeyId: k
${image}  ApiSecret:
    Type: AWS::SecretsManager::Secret
    Properties:
      Name: fixture/api
`,
      );
      const result = await report(file);
      expect(errors(result), name).toEqual([expect.objectContaining({ code: 'resolved-reference', field: 'apiKey', envName: 'API_KEY_SECRET' })]);
    }
    // The same parts without the marker are a reference, not a resolved value.
    const plain = await write(
      'dynamic-none.yaml',
      `  Fn:
    Type: AWS::Serverless::Function
    Properties:
      PackageType: Image
      ImageConfig:
        Command: [app.handler]
      Environment:
        Variables:
          TABLE_NAME: t
          API_KEY_SECRET: !Join ['', [!Ref ApiSecret]]
          DB_SECRET: !Sub '\${ApiSecret}'
          LEGACY_TOKEN_ENCRYPTED: c
      Policies:
        - AWSSecretsManagerGetSecretValuePolicy:
            SecretArn: !Ref ApiSecret
        - KMSDecryptPolicy:
            KeyId: k
${image}  ApiSecret:
    Type: AWS::SecretsManager::Secret
    Properties:
      Name: fixture/api
`,
    );
    expect(errors(await report(plain)).map((f) => f.code)).not.toContain('resolved-reference');
  });

  it('checks a reference written in code; a versioned one needs no BatchGetSecretValue', async () => {
    const fn = (resource: string): string => `  Fn:
    Type: AWS::Serverless::Function
    Properties:
      PackageType: Image
      ImageConfig:
        Command: [literal.handler]
      Policies:
        - AWSSecretsManagerGetSecretValuePolicy:
            SecretArn: ${resource}
${image}`;
    const granted = await report(await write('literal.yaml', fn("'arn:aws:secretsmanager:*:*:secret:fixture/*'")));
    expect(granted.code).toBe(0);
    expect(granted.report.findings).toEqual([]);
    const denied = await report(await write('literal.yaml', fn("'arn:aws:secretsmanager:*:*:secret:other/*'")));
    expect(errors(denied)).toEqual([
      expect.objectContaining({
        code: 'missing-secret-policy',
        field: 'previous',
        message: 'previous (secret "arn:aws:secretsmanager:eu-west-1:123456789012:secret:fixture/literal-AbC123" (in code)): no policy grants secretsmanager:GetSecretValue on it',
      }),
    ]);
    expect(denied.report.findings.some((f) => f.code === 'missing-batch-policy')).toBe(false);
  });

  describe('Parameter Store', () => {
    const KEY = 'arn:aws:kms:eu-west-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab';
    const fn = (policies: string, variables = '', extraResources = ''): string => `  Fn:
    Type: AWS::Serverless::Function
    Properties:
      PackageType: Image
      ImageConfig:
        Command: [parameters.handler]
      Environment:
        Variables:
          HOST_PARAM: /fixture/host
          PASSWORD_PARAM: /fixture/db/password
          TREE_PATH: /fixture/tree/
${variables}      Policies:
${policies}
${image}${extraResources}`;
    const codes = (result: { report: CheckReport }): string[] => result.report.findings.map((f) => `${f.level} ${f.code} ${f.field ?? ''}`);

    it("understands SAM's SSMParameterReadPolicy (parameter/${ParameterName}) and KMSDecryptPolicy for the declared key", async () => {
      const granted = await report(
        await write('ssm-granted.yaml', fn(`        - SSMParameterReadPolicy:\n            ParameterName: fixture/*\n        - KMSDecryptPolicy:\n            KeyId: 1234abcd-12ab-34cd-56ef-1234567890ab`)),
      );
      expect(granted.report.findings).toEqual([]);
      expect(granted.code).toBe(0);
      // The policy template's ParameterName has no leading slash: with one, it grants parameter//fixture/*.
      const slashed = await report(await write('ssm-slashed.yaml', fn(`        - SSMParameterReadPolicy:\n            ParameterName: /fixture/*`)));
      expect(codes(slashed)).toEqual([
        'error missing-parameter-policy host',
        'error missing-parameter-policy password',
        'error missing-kms-policy password',
        'error missing-parameter-policy flag',
        'error missing-parameter-policy tree',
      ]);
      const withSlash = await report(
        await write('ssm-with-slash.yaml', fn(`        - SSMParameterWithSlashPrefixReadPolicy:\n            ParameterName: /fixture/*\n        - KMSDecryptPolicy:\n            KeyId: 1234abcd-12ab-34cd-56ef-1234567890ab`)),
      );
      expect(withSlash.report.findings).toEqual([]);
    });

    it('names the action, the parameter ARN and the policy to add for each ungranted read', async () => {
      const file = await write(
        'ssm-narrow.yaml',
        fn(`        - Statement:\n            - Effect: Allow\n              Action: ssm:GetParameters\n              Resource: !Sub arn:\${AWS::Partition}:ssm:\${AWS::Region}:\${AWS::AccountId}:parameter/fixture/host`),
      );
      const result = await report(file);
      expect(result.code).toBe(1);
      const byField = new Map(errors(result).map((f) => [`${f.code} ${f.field ?? ''}`, f]));
      expect([...byField.keys()].sort()).toEqual([
        'missing-kms-policy password',
        'missing-parameter-policy flag',
        'missing-parameter-policy password',
        'missing-parameter-policy tree',
      ]);
      expect(byField.get('missing-parameter-policy password')).toMatchObject({
        envName: 'PASSWORD_PARAM',
        message: 'password (parameter via env PASSWORD_PARAM = /fixture/db/password): no policy grants ssm:GetParameters on it',
        fix: 'add to Resources.Fn.Properties.Policies:\n  - SSMParameterReadPolicy:\n      ParameterName: fixture/db/password',
      });
      // The selector is not part of the resource IAM authorizes.
      expect(byField.get('missing-parameter-policy flag')?.message).toBe(
        'flag (parameter "/fixture/flag:stable" (in code)): no policy grants ssm:GetParameters on it',
      );
      // A path is authorized on its own ARN, with GetParametersByPath.
      expect(byField.get('missing-parameter-policy tree')?.message).toBe(
        'tree (parameter path via env TREE_PATH = /fixture/tree/): no policy grants ssm:GetParametersByPath on it',
      );
      expect(byField.get('missing-kms-policy password')?.message).toContain(`encrypted with ${KEY}): no policy grants kms:Decrypt on it`);
    });

    it("follows !Ref of an AWS::SSM::Parameter to its Name; a {{resolve:ssm:...}} variable and a non-reference are errors", async () => {
      const statement = `        - Statement:\n            - Effect: Allow\n              Action: [ssm:GetParameters, ssm:GetParametersByPath, kms:Decrypt]\n              Resource: '*'`;
      const reffed = await report(
        await write(
          'ssm-ref.yaml',
          fn(
            `        - Statement:\n            - Effect: Allow\n              Action: ssm:GetParameters\n              Resource: !Sub arn:\${AWS::Partition}:ssm:\${AWS::Region}:\${AWS::AccountId}:parameter/fixture/named-host`,
            '',
            '  HostParameter:\n    Type: AWS::SSM::Parameter\n    Properties:\n      Name: /fixture/named-host\n      Type: String\n      Value: h\n',
          ).replace('HOST_PARAM: /fixture/host', 'HOST_PARAM: !Ref HostParameter'),
        ),
      );
      expect(reffed.report.findings.some((f) => f.field === 'host')).toBe(false);

      const resolved = await report(
        await write('ssm-resolved.yaml', fn(statement).replace('HOST_PARAM: /fixture/host', "HOST_PARAM: '{{resolve:ssm:/fixture/host}}'")),
      );
      expect(errors(resolved)).toEqual([
        expect.objectContaining({
          code: 'resolved-reference',
          field: 'host',
          envName: 'HOST_PARAM',
          message: expect.stringContaining("{{resolve:ssm:...}} dynamic reference, which CloudFormation replaces with the parameter's value at deployment"),
        }),
      ]);
      const bad = await report(await write('ssm-bad.yaml', fn(statement).replace('HOST_PARAM: /fixture/host', 'HOST_PARAM: not/qualified')));
      expect(errors(bad)).toEqual([
        expect.objectContaining({
          code: 'bad-reference',
          field: 'host',
          message: 'host (ssm via env HOST_PARAM): the value is not a parameter reference: a hierarchical parameter name starts with "/"',
        }),
      ]);
    });
  });

  it('says what is not built, and that the build builds it', async () => {
    const file = await write(
      'unbuilt.yaml',
      `  Fn:
    Type: AWS::Serverless::Function
    Properties:
      PackageType: Image
      ImageConfig:
        Command: [missing.handler]
${image}`,
    );
    const result = await report(file);
    expect(result.code).toBe(1);
    expect(errors(result)).toEqual([
      expect.objectContaining({ code: 'code-not-found', function: 'Fn', message: expect.stringMatching(/app\/build\/missing\.js.*: run the build first \(npm run build; in this repository pnpm build\)$/) }),
    ]);
  });

  it('explains a handler that names TypeScript: a file name, or a module that exists only as .ts', async () => {
    const fileName = await write(
      'ts-file-name.yaml',
      `  Fn:
    Type: AWS::Serverless::Function
    Properties:
      PackageType: Image
      ImageConfig:
        Command: [app.ts]
${image}`,
    );
    expect(errors(await report(fileName))).toEqual([
      expect.objectContaining({ code: 'code-not-found', message: expect.stringMatching(/^handler app\.ts is a file name, not module\.export: the runtime runs JavaScript modules only; bundle it to JavaScript with `custom-runtime build app\.ts`/) }),
    ]);
    await writeFile(path.join(dir, 'src-only.ts'), 'export const handler = async () => 1;\n');
    const sourceOnly = await write(
      'ts-source.yaml',
      `  Fn:
    Type: AWS::Serverless::Function
    Properties:
      Runtime: nodejs22.x
      CodeUri: ${path.join(dir, 'nothing-built')}
      Handler: src-only.handler
`,
    );
    expect(errors(await report(sourceOnly))).toEqual([
      expect.objectContaining({ code: 'code-not-found', message: expect.stringMatching(/is not built .*; handler src-only\.handler finds src-only\.ts in .*: the runtime loads JavaScript only/) }),
    ]);
  });

  it('cannot verify a grant through a managed policy or a role outside the template: a warning', async () => {
    const file = await write(
      'opaque.yaml',
      `  Fn:
    Type: AWS::Serverless::Function
    Properties:
      PackageType: Image
      Role: arn:aws:iam::123456789012:role/outside
      Environment:
        Variables:
          TABLE_NAME: t
          API_KEY_SECRET: fixture/api
          DB_SECRET: fixture/db
          LEGACY_TOKEN_ENCRYPTED: c
${image}`,
    );
    const result = await report(file);
    expect(result.code).toBe(0);
    expect(result.report.findings.filter((f) => f.level === 'warning').map((f) => f.code).sort()).toEqual([
      'unverified-batch-policy',
      'unverified-kms-policy',
      'unverified-secret-policy',
      'unverified-secret-policy',
    ]);
    expect(result.report.findings.find((f) => f.level === 'warning')?.fix).toContain("add to the policy of the function's Role");
  });
});

describe('IAM resource matching', () => {
  const name = (text: string): Pattern => secretArnForName(literal(text));

  it('compares partly known ARNs three ways', () => {
    expect(matchPattern(literal('*', true), name('prod/db'))).toBe('yes');
    expect(matchPattern(literal('arn:aws:secretsmanager:eu-west-1:123456789012:secret:prod/db-*', true), name('prod/db'))).toBe('yes');
    expect(matchPattern(literal('arn:aws:secretsmanager:eu-west-1:123456789012:secret:prod/db', true), name('prod/db'))).toBe('no');
    expect(matchPattern(literal('arn:aws:secretsmanager:eu-west-1:123456789012:secret:prod/dbx-*', true), name('prod/db'))).toBe('no');
    expect(matchPattern(literal('arn:aws:s3:::bucket/*', true), name('prod/db'))).toBe('no');
    expect(matchPattern([token('parameter P')], name('prod/db'))).toBe('maybe');
    expect(matchPattern([token('parameter P')], [token('parameter P')])).toBe('yes');
    expect(matchPattern(literal('arn:aws:secretsmanager:eu-west-1:1:secret:a-Ab?12?', true), literal('arn:aws:secretsmanager:eu-west-1:1:secret:a-AbC123'))).toBe('yes');
  });
});

describe('image layout', () => {
  const dockerfile = `ARG APP=app
FROM node AS build
WORKDIR /src
COPY package.json ./
COPY . .
FROM public.ecr.aws/lambda/provided:al2023 AS final
# A global ARG is seen in a stage only when declared again there.
ARG APP
ENV LEGACY="a b" \\
    OTHER=x
ENV SPACED value with spaces
COPY --from=build /src/\${APP}/dist/ \${LAMBDA_TASK_ROOT}/
COPY scripts/*.sh ./bin/
COPY --chmod=755 ["run me.sh", "/var/task/run.sh"]
CMD ["index.handler"]
FROM final AS debug
CMD ["debug.handler"]
`;

  it('follows a file of the task root back to the build context', () => {
    const layout = layoutOf(dockerfile, 'final', new Map())!;
    expect(layout.final.command).toEqual(['index.handler']);
    // Candidates, most likely first: the caller keeps the first one that exists.
    expect(layout.contextPaths('/var/task/index.mjs')).toEqual(['app/dist/index.mjs', 'package.json/app/dist/index.mjs']);
    expect(layout.contextPaths('/var/task/bin/start.sh')[0]).toBe('scripts/start.sh');
    expect(layout.contextPaths('/var/task/run.sh')[0]).toBe('run me.sh');
    expect(layout.contextPaths('/opt/other')).toEqual([]);
    expect([...layout.final.env.keys()]).toEqual(['LAMBDA_TASK_ROOT', 'LAMBDA_RUNTIME_DIR', 'LEGACY', 'OTHER', 'SPACED']);
    expect(layout.final.env.get('SPACED')).toBe('value with spaces');
  });

  it('builds the last stage unless a target is given, inheriting from a parent stage; build args apply', () => {
    const last = layoutOf(dockerfile, undefined, new Map([['APP', 'api']]))!;
    expect(last.final.stage.name).toBe('debug');
    expect(last.final.command).toEqual(['debug.handler']);
    expect(last.contextPaths('/var/task/index.mjs')[0]).toBe('api/dist/index.mjs');
    expect(layoutOf(dockerfile, 'nope', new Map())).toBeUndefined();
  });
});
