// Grammar: the Systems Manager name rules (PutParameter `Name`: letters, digits, . - _, "/"
// separated, fully qualified when hierarchical, at most 15 levels) and CloudFormation's dynamic
// references `{{resolve:ssm:name[:version]}}` / `{{resolve:ssm-secure:name[:version]}}`
// (AWSCloudFormation UserGuide, dynamic-references-ssm.html, dynamic-references-ssm-secure-strings.html).
import { describe, expect, it } from 'vitest';
import { parseParameterReference, ParameterReferenceError } from '../src/index.js';

const ARN = 'arn:aws:ssm:eu-west-1:123456789012:parameter/app/prod/db-host';

describe('parseParameterReference', () => {
  it('reads a hierarchical and a flat name', () => {
    expect(parseParameterReference('/app/prod/db-host')).toEqual({
      name: '/app/prod/db-host',
      form: 'name',
      version: undefined,
      label: undefined,
      selector: '/app/prod/db-host',
      dynamic: undefined,
    });
    expect(parseParameterReference('  flat_name.v2 ')).toMatchObject({ name: 'flat_name.v2', selector: 'flat_name.v2' });
  });

  it('reads name:version and name:label', () => {
    expect(parseParameterReference('/app/x:3')).toMatchObject({ name: '/app/x', version: 3, label: undefined, selector: '/app/x:3' });
    expect(parseParameterReference('/app/x:prod')).toMatchObject({ name: '/app/x', version: undefined, label: 'prod', selector: '/app/x:prod' });
  });

  it('reads a parameter ARN, with or without a selector', () => {
    expect(parseParameterReference(ARN)).toMatchObject({ name: ARN, form: 'arn', selector: ARN });
    expect(parseParameterReference(`${ARN}:12`)).toMatchObject({ name: ARN, version: 12, selector: `${ARN}:12` });
    expect(parseParameterReference('arn:aws-cn:ssm:cn-north-1:123456789012:parameter/flat:stable')).toMatchObject({
      form: 'arn',
      label: 'stable',
    });
  });

  it('reads whole ssm and ssm-secure dynamic references, with a version only', () => {
    expect(parseParameterReference('{{resolve:ssm:/app/x}}')).toMatchObject({ name: '/app/x', dynamic: 'ssm' });
    expect(parseParameterReference('{{resolve:ssm:/app/x:4}}')).toMatchObject({ version: 4, dynamic: 'ssm' });
    expect(parseParameterReference(`{{resolve:ssm-secure:${ARN}:2}}`)).toMatchObject({ name: ARN, version: 2, dynamic: 'ssm-secure' });
    expect(() => parseParameterReference('{{resolve:ssm:/app/x:prod}}')).toThrow(/takes a version number/);
  });

  it.each([
    ['', /empty/],
    ['app/x', /starts with "\/"/],
    ['/app/x y', /segments of letters/],
    ['/app//x', /segments of letters/],
    ['/app/x:1:2', /too many ":"/],
    ['/app/x:', /selector/],
    ['/app/x:0', /selector/],
    ['/app/x:9lives', /selector/],
    [`/${Array.from({ length: 16 }, (_, i) => `l${i}`).join('/')}`, /at most 15 levels/],
    ['arn:aws:secretsmanager:us-east-1:123456789012:secret:x', /service is "secretsmanager"/],
    ['arn:aws:ssm:us-east-1:1234:parameter/x', /12-digit account/],
    ['arn:aws:ssm:us-east-1:123456789012:document/x', /resource must be "parameter\/<name>"/],
    ['arn:aws:ssm:us-east-1:123456789012:parameter//x', /without its leading slash/],
    ['{{resolve:secretsmanager:x}}', /only ssm and ssm-secure/],
    ['{{resolve:ssm:/x}', /must look like/],
  ])('rejects %j, saying why', (input, message) => {
    let error: unknown;
    try {
      parseParameterReference(input);
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(ParameterReferenceError);
    expect((error as Error).name).toBe('ParameterReferenceError');
    expect((error as Error).message).toMatch(message);
  });

  it('never echoes the input in its message', () => {
    const typo = '/app/sk-live-4242 4242';
    expect(() => parseParameterReference(typo)).toThrow(ParameterReferenceError);
    try {
      parseParameterReference(typo);
    } catch (error) {
      expect((error as Error).message).not.toContain('4242');
    }
  });
});
