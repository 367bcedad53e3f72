/**
 * The SAM template reader `check` and the example tests rely on: CloudFormation short-form tags,
 * functions with their Globals, intrinsic functions and dynamic references.
 */
import { describe, expect, it } from 'vitest';
import { evaluate, resolveDynamicReferences, templateReferences, TemplateError } from '../src/intrinsics.js';
import { samFunctions } from '../src/sam-functions.js';
import { parseTemplate } from '../src/template.js';

const TEXT = `
Parameters:
  Token: { Type: String, NoEcho: true }
  KeyId: { Type: String, Default: '' }
Conditions:
  NoKey: !Equals [!Ref KeyId, '']
  HasKey: !Not [!Condition NoKey]
Globals:
  Function:
    MemorySize: 256
    Environment:
      Variables:
        SHARED: global
        OVERRIDDEN: global
Resources:
  Fn:
    Type: AWS::Serverless::Function
    Properties:
      PackageType: Image
      ImageConfig: { Command: [handler.sh] }
      Environment:
        Variables:
          OVERRIDDEN: own
          TOKEN: !Ref Token
          SUB: !Sub 'arn:\${AWS::Partition}:x:\${Secret}/\${Fn.Arn}/\${!Literal}/\${Extra}'
          SUB_LIST: !Sub ['\${A}-\${B}', { A: !Ref Token, B: !Select [1, !Split [',', 'x,y']] }]
          JOIN: !Join ['', ['{{resolve:secretsmanager:', !Ref Secret, ':SecretString:password}}']]
          KEY: !If [NoKey, !GetAtt Key.Arn, !Ref KeyId]
          BOTH: !If [HasKey, yes, no]
    Metadata: { Dockerfile: Dockerfile }
  Other:
    Type: AWS::SecretsManager::Secret
`;

describe('parseTemplate and evaluate', () => {
  const template = parseTemplate(TEXT, 'template.yaml');
  const [fn] = samFunctions(template);
  const variables = Object.fromEntries(fn?.variables ?? []);

  it('reads the short-form tags as the long forms', () => {
    expect(variables.TOKEN).toEqual({ Ref: 'Token' });
    expect(variables.KEY).toEqual({ 'Fn::If': ['NoKey', { 'Fn::GetAtt': ['Key', 'Arn'] }, { Ref: 'KeyId' }] });
    expect(template.document.Conditions).toEqual({
      NoKey: { 'Fn::Equals': [{ Ref: 'KeyId' }, ''] },
      HasKey: { 'Fn::Not': [{ Condition: 'NoKey' }] },
    });
  });

  it('overlays the function on Globals and reads ImageConfig and MemorySize', () => {
    expect(fn).toMatchObject({ logicalId: 'Fn', command: ['handler.sh'], memorySizeMb: 256, resource: { metadata: { Dockerfile: 'Dockerfile' } } });
    expect(variables).toMatchObject({ SHARED: 'global', OVERRIDDEN: 'own' });
    expect(samFunctions(parseTemplate(TEXT.replace('Globals:', 'Ignored:'), 'template.yaml'))[0]?.memorySizeMb).toBe(128);
    expect(fn?.timeoutSeconds).toBe(3);
  });

  it('resolves the image build against the template\'s directory, and reads its tag', () => {
    const [image] = samFunctions(parseTemplate(TEXT.replace('Metadata: { Dockerfile: Dockerfile }', 'Metadata: { Dockerfile: x/Dockerfile, DockerContext: ., DockerTag: v1 }'), '/repo/template.yaml'));
    expect(image?.docker).toMatchObject({ context: '/repo', dockerfile: '/repo/x/Dockerfile', tag: 'v1', target: undefined });
    // Without a DockerContext the image is not built from here.
    expect(fn?.docker).toBeUndefined();
  });

  it('takes the last of duplicate keys as CloudFormation does, or refuses them when asked', () => {
    const text = 'Resources: {}\nResources:\n  X: { Type: AWS::SNS::Topic }\n';
    expect([...parseTemplate(text, 't.yaml').resources.keys()]).toEqual(['X']);
    expect(() => parseTemplate(text, 't.yaml', { uniqueKeys: true })).toThrow(/^t\.yaml is not valid YAML.*DUPLICATE_KEY/);
  });

  it('names the line and column of a YAML error, never the text there', () => {
    const text = 'Resources:\n  Fn:\n    Type: AWS::Serverless::Function\n    Properties:\n      Environment: {Variables: {TOKEN: secret-ish-value\n';
    expect(() => parseTemplate(text, 'template.yaml')).toThrow(/^template\.yaml is not valid YAML at line \d+, column \d+ \([A-Z_]+\)$/);
    const tab = 'Resources:\n  Fn:\n\tType: x\n';
    expect(() => parseTemplate(tab, 'template.yaml')).toThrow(/at line 3, column 1 /);
    try {
      parseTemplate(text, 'template.yaml');
    } catch (error) {
      expect((error as Error).message).not.toContain('secret-ish');
    }
  });

  it('evaluates intrinsic functions with the values given', () => {
    const context = {
      template,
      refs: { Token: 't0ken', KeyId: '', Secret: 'arn:aws:secretsmanager:us-east-1:1:secret:s-AbCdEf', 'AWS::Partition': 'aws', Extra: 'e' },
      attributes: { 'Key.Arn': 'arn:key', 'Fn.Arn': 'arn:fn' },
    };
    expect(evaluate(variables, context, 'Variables')).toEqual({
      SHARED: 'global',
      OVERRIDDEN: 'own',
      TOKEN: 't0ken',
      SUB: 'arn:aws:x:arn:aws:secretsmanager:us-east-1:1:secret:s-AbCdEf/arn:fn/${Literal}/e',
      SUB_LIST: 't0ken-y',
      JOIN: '{{resolve:secretsmanager:arn:aws:secretsmanager:us-east-1:1:secret:s-AbCdEf:SecretString:password}}',
      KEY: 'arn:key',
      BOTH: 'no',
    });
    expect(() => evaluate(variables, { template, refs: {} }, 'Variables')).toThrow(
      new TemplateError('Variables.TOKEN (Ref): no value for Token'),
    );
  });

  it('lists every logical id the intrinsics refer to', () => {
    const targets = templateReferences(template).map((r) => `${r.kind} ${r.target}`);
    expect(targets).toEqual(
      expect.arrayContaining(['Ref KeyId', 'Condition NoKey', 'Ref Token', 'Sub AWS::Partition', 'Sub Secret', 'Sub Extra', 'GetAtt Key', 'Ref Secret', 'Condition HasKey']),
    );
    // ${Fn.Arn} is an attribute of Fn; ${A} and ${B} are the Sub's own variables; ${!Literal} is text.
    expect(targets).toContain('Sub Fn');
    expect(targets.filter((t) => /^Sub (A|B|!Literal|Literal)$/.test(t))).toEqual([]);
  });
});

describe('resolveDynamicReferences', () => {
  const secrets: Record<string, string> = {
    'arn:aws:secretsmanager:us-east-1:123456789012:secret:db-AbCdEf': '{"username":"u","password":"p4ss"}',
    plain: 'just text',
  };
  const lookup = (id: string): string => {
    const value = secrets[id];
    if (value === undefined) throw new Error(`no secret ${id}`);
    return value;
  };

  it('resolves by ARN and name, whole or one JSON key, as CloudFormation does', () => {
    expect(resolveDynamicReferences('{{resolve:secretsmanager:arn:aws:secretsmanager:us-east-1:123456789012:secret:db-AbCdEf:SecretString:password}}', lookup, 'X')).toBe('p4ss');
    expect(resolveDynamicReferences('a-{{resolve:secretsmanager:plain}}-b', lookup, 'X')).toBe('a-just text-b');
    expect(resolveDynamicReferences('{{resolve:secretsmanager:plain:SecretString}}', lookup, 'X')).toBe('just text');
    expect(resolveDynamicReferences('no reference', lookup, 'X')).toBe('no reference');
  });

  it('refuses what it does not simulate', () => {
    expect(() => resolveDynamicReferences('{{resolve:ssm:/x}}', lookup, 'X')).toThrow(/X: \{\{resolve:ssm:...\}\} is not supported/);
    expect(() => resolveDynamicReferences('{{resolve:secretsmanager:plain:SecretString::AWSPREVIOUS}}', lookup, 'X')).toThrow(/version segments/);
    expect(() => resolveDynamicReferences('{{resolve:secretsmanager:arn:aws:secretsmanager:us-east-1:123456789012:secret:db-AbCdEf:SecretString:nope}}', lookup, 'X')).toThrow(
      /no string key nope/,
    );
  });
});
