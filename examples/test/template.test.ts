/**
 * The SAM template reader the example tests rely on: CloudFormation short-form tags, intrinsic
 * functions and dynamic references.
 */
import { describe, expect, it } from 'vitest';
import { evaluate, parseTemplate, resolveDynamicReferences, serverlessFunctions, templateReferences, TemplateError } from './template.js';

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
  const template = parseTemplate(TEXT);
  const [fn] = serverlessFunctions(template);

  it('reads the short-form tags as the long forms', () => {
    expect(fn?.variables.TOKEN).toEqual({ Ref: 'Token' });
    expect(fn?.variables.KEY).toEqual({ 'Fn::If': ['NoKey', { 'Fn::GetAtt': ['Key', 'Arn'] }, { Ref: 'KeyId' }] });
    expect(template.Conditions).toEqual({
      NoKey: { 'Fn::Equals': [{ Ref: 'KeyId' }, ''] },
      HasKey: { 'Fn::Not': [{ Condition: 'NoKey' }] },
    });
  });

  it('overlays the function on Globals and reads ImageConfig and MemorySize', () => {
    expect(fn).toMatchObject({ logicalId: 'Fn', command: ['handler.sh'], memorySizeMb: 256, metadata: { Dockerfile: 'Dockerfile' } });
    expect(fn?.variables).toMatchObject({ SHARED: 'global', OVERRIDDEN: 'own' });
    expect(serverlessFunctions(parseTemplate(TEXT.replace('Globals:', 'Ignored:')))[0]?.memorySizeMb).toBe(128);
  });

  it('evaluates intrinsic functions with the values given', () => {
    const context = {
      template,
      refs: { Token: 't0ken', KeyId: '', Secret: 'arn:aws:secretsmanager:us-east-1:1:secret:s-AbCdEf', 'AWS::Partition': 'aws', Extra: 'e' },
      attributes: { 'Key.Arn': 'arn:key', 'Fn.Arn': 'arn:fn' },
    };
    expect(evaluate(fn?.variables, context, 'Variables')).toEqual({
      SHARED: 'global',
      OVERRIDDEN: 'own',
      TOKEN: 't0ken',
      SUB: 'arn:aws:x:arn:aws:secretsmanager:us-east-1:1:secret:s-AbCdEf/arn:fn/${Literal}/e',
      SUB_LIST: 't0ken-y',
      JOIN: '{{resolve:secretsmanager:arn:aws:secretsmanager:us-east-1:1:secret:s-AbCdEf:SecretString:password}}',
      KEY: 'arn:key',
      BOTH: 'no',
    });
    expect(() => evaluate(fn?.variables, { template, refs: {} }, 'Variables')).toThrow(
      new TemplateError('Variables.TOKEN (Ref): no value for Token (give the test one)'),
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
