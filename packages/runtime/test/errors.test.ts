import { runInNewContext } from 'node:vm';
import { describe, expect, it } from 'vitest';
import {
  CommandFailed,
  HandlerNotFound,
  ImportModuleError,
  MAX_ERROR_MESSAGE_CHARS,
  MAX_STACK_LINES,
  ResponseSerializationError,
  UserCodeSyntaxError,
  describeError,
  errorName,
  sanitizeErrorTypeHeader,
  serializeResponse,
  stackLines,
  toErrorResponse,
  renderValue,
} from '../src/errors.js';
import { inspect } from 'node:util';

describe('describeError', () => {
  it('describes a plain Error as Function.Error with the stack lines after the head', () => {
    const err = new Error('boom');
    const { response, typeHeader } = describeError(err);
    expect(typeHeader).toBe('Function.Error');
    expect(response.errorType).toBe('Error');
    expect(response.errorMessage).toBe('boom');
    expect(response.stackTrace.length).toBeGreaterThan(0);
    expect(response.stackTrace[0]).toMatch(/^at /);
    expect(response.stackTrace.every((line) => line === line.trim())).toBe(true);
  });

  it('uses the built-in name of built-in error classes', () => {
    expect(describeError(new TypeError('t'))).toMatchObject({
      typeHeader: 'Function.TypeError',
      response: { errorType: 'TypeError' },
    });
  });

  it('names a subclass that never set its name after its constructor', () => {
    class ValidationError extends Error {}
    expect(describeError(new ValidationError('bad input'))).toMatchObject({
      typeHeader: 'Function.ValidationError',
      response: { errorType: 'ValidationError', errorMessage: 'bad input' },
    });
  });

  it('keeps an explicitly set name, on the instance or on the prototype', () => {
    class A extends Error {
      override name = 'CustomName';
    }
    class B extends Error {}
    B.prototype.name = 'ProtoName';
    expect(describeError(new A('x')).response.errorType).toBe('CustomName');
    expect(describeError(new B('x')).response.errorType).toBe('ProtoName');
    const plain = new Error('x');
    plain.name = 'Renamed';
    expect(describeError(plain).typeHeader).toBe('Function.Renamed');
  });

  it('drops a multi-line message head from the stack', () => {
    const err = new Error('line one\nline two');
    const { response } = describeError(err);
    expect(response.errorMessage).toBe('line one\nline two');
    expect(response.stackTrace.some((line) => line.includes('line two'))).toBe(false);
  });

  it('reports runtime errors with their Runtime.* type in header and body', () => {
    for (const err of [new ImportModuleError('m'), new HandlerNotFound('h'), new UserCodeSyntaxError('s')]) {
      const { response, typeHeader } = describeError(err);
      expect(typeHeader).toBe(err.lambdaErrorType);
      expect(response.errorType).toBe(err.lambdaErrorType);
      expect(typeHeader).toMatch(/^Runtime\.[A-Za-z]+$/);
    }
  });

  it('honours a lambdaErrorType on any error (config init hooks)', () => {
    const err = Object.assign(new Error('secret missing'), { lambdaErrorType: 'Runtime.ConfigInvalid' });
    expect(describeError(err)).toMatchObject({
      typeHeader: 'Runtime.ConfigInvalid',
      response: { errorType: 'Runtime.ConfigInvalid', errorMessage: 'secret missing' },
    });
  });

  it('puts a lambdaErrorType without a category under Runtime, header-safe', () => {
    const err = Object.assign(new Error('x'), { lambdaErrorType: 'Config Invalid' });
    expect(describeError(err)).toMatchObject({
      typeHeader: 'Runtime.Config_Invalid',
      response: { errorType: 'Runtime.Config_Invalid' },
    });
  });

  it('treats errors named Runtime.X as runtime errors', () => {
    const err = new Error('bad header');
    err.name = 'Runtime.InvalidContextHeader';
    expect(describeError(err).typeHeader).toBe('Runtime.InvalidContextHeader');
  });

  it('reports CommandFailed as Function.CommandFailed / CommandFailed', () => {
    const err = new CommandFailed('script exited with code 2', {
      path: '/x',
      reason: 'exit',
      exitCode: 2,
      signal: null,
      stderrTail: 'oops',
    });
    expect(describeError(err)).toMatchObject({
      typeHeader: 'Function.CommandFailed',
      response: { errorType: 'CommandFailed', errorMessage: 'script exited with code 2' },
    });
  });

  it('reports non-errors as NonErrorThrown with a safe rendering', () => {
    const cases: Array<[unknown, string | RegExp]> = [
      ['a string', 'a string'],
      [42, '42'],
      [null, 'null'],
      [undefined, 'undefined'],
      [10n, '10n'],
      [Symbol('s'), 'Symbol(s)'],
      [{ a: 1 }, '{ a: 1 }'],
    ];
    for (const [value, expected] of cases) {
      const { response, typeHeader } = describeError(value);
      expect(typeHeader).toBe('Function.NonErrorThrown');
      expect(response.errorType).toBe('NonErrorThrown');
      expect(response.stackTrace).toEqual([]);
      if (typeof expected === 'string') expect(response.errorMessage).toBe(expected);
    }
  });

  it('never throws: throwing getters, null prototypes, circular values, proxies', () => {
    const getterError = new Error('x');
    Object.defineProperty(getterError, 'message', {
      get() {
        throw new Error('no message for you');
      },
    });
    Object.defineProperty(getterError, 'name', {
      get() {
        throw new Error('no name for you');
      },
    });
    const nullProto = Object.create(null) as Record<string, unknown>;
    nullProto.x = 1;
    const circular: Record<string, unknown> = {};
    circular.self = circular;
    const throwingObject = {
      get boom(): never {
        throw new Error('getter');
      },
    };
    const hostileProxy = new Proxy(
      {},
      {
        get() {
          throw new Error('trap');
        },
        getPrototypeOf() {
          throw new Error('trap');
        },
        ownKeys() {
          throw new Error('trap');
        },
      },
    );
    for (const value of [getterError, nullProto, circular, throwingObject, hostileProxy]) {
      const { response, typeHeader } = describeError(value);
      expect(typeof response.errorType).toBe('string');
      expect(typeof response.errorMessage).toBe('string');
      expect(Array.isArray(response.stackTrace)).toBe(true);
      expect(typeHeader).toMatch(/^[A-Za-z0-9]+\.[A-Za-z0-9._-]+$/);
    }
    expect(describeError(getterError).response.errorType).toBe('Error');
    expect(describeError(circular).response.errorMessage).toContain('Circular');
  });

  it('accepts errors from another realm and error-shaped objects', () => {
    const foreign = runInNewContext('new RangeError("far away")') as unknown;
    expect(describeError(foreign)).toMatchObject({
      typeHeader: 'Function.RangeError',
      response: { errorType: 'RangeError', errorMessage: 'far away' },
    });
    const shaped = { name: 'Shaped', message: 'duck', stack: 'Shaped: duck\n    at somewhere (file.js:1:1)' };
    expect(describeError(shaped)).toMatchObject({
      typeHeader: 'Function.Shaped',
      response: { errorType: 'Shaped', errorMessage: 'duck', stackTrace: ['at somewhere (file.js:1:1)'] },
    });
  });

  it('caps huge messages and stacks', () => {
    const err = new Error('m'.repeat(MAX_ERROR_MESSAGE_CHARS * 4));
    err.stack = `Error: m\n${'    at frame (f.js:1:1)\n'.repeat(MAX_STACK_LINES * 3)}`;
    const { response } = describeError(err);
    expect(response.errorMessage.length).toBeLessThan(MAX_ERROR_MESSAGE_CHARS + 100);
    expect(response.errorMessage).toMatch(/truncated \d+ characters/);
    expect(response.stackTrace.length).toBe(MAX_STACK_LINES + 1);
  });

  it('makes unsafe error names header-safe while keeping the body name', () => {
    const err = new Error('x');
    err.name = 'Bad Name\r\nX-Injected: 1';
    const { response, typeHeader } = describeError(err);
    expect(response.errorType).toBe('Bad Name\r\nX-Injected: 1');
    expect(typeHeader).toBe('Function.Bad_Name_X-Injected_1');
  });

  it('replaces DEL like ric', () => {
    const err = new Error('a\x7Fb');
    err.name = 'T\x7FE';
    expect(describeError(err).response).toMatchObject({ errorType: 'T%7FE', errorMessage: 'a%7Fb' });
  });

  it('toErrorResponse returns the body', () => {
    expect(toErrorResponse('x')).toEqual({ errorType: 'NonErrorThrown', errorMessage: 'x', stackTrace: [] });
  });
});

describe('errorName', () => {
  it('falls back to the constructor or Error when the name is unusable', () => {
    const err = new Error('x');
    Object.defineProperty(err, 'name', { value: 42 });
    expect(errorName(err)).toBe('Error');
  });
});

describe('stackLines', () => {
  it('returns [] for a missing stack and drops only the head without frames', () => {
    expect(stackLines(undefined)).toEqual([]);
    expect(stackLines('Error: x')).toEqual([]);
    expect(stackLines('Head\n  custom line  ')).toEqual(['custom line']);
  });
});

describe('sanitizeErrorTypeHeader', () => {
  it('produces Category.Reason from anything', () => {
    expect(sanitizeErrorTypeHeader('Runtime.ConfigInvalid')).toBe('Runtime.ConfigInvalid');
    expect(sanitizeErrorTypeHeader('Reason')).toBe('Function.Reason');
    expect(sanitizeErrorTypeHeader('Reason', 'Runtime')).toBe('Runtime.Reason');
    expect(sanitizeErrorTypeHeader('')).toBe('Function.Unknown');
    expect(sanitizeErrorTypeHeader('..a..b..')).toBe('a.b');
    expect(sanitizeErrorTypeHeader('é\u0000x')).toBe('Function._x');
    expect(sanitizeErrorTypeHeader('A.'.repeat(200)).length).toBeLessThanOrEqual(128);
  });
});

describe('serializeResponse', () => {
  it('encodes like ric: undefined → null, strings as JSON strings', () => {
    expect(serializeResponse(undefined)).toBe('null');
    expect(serializeResponse(null)).toBe('null');
    expect(serializeResponse('hello')).toBe('"hello"');
    expect(serializeResponse(123)).toBe('123');
    expect(serializeResponse({ a: [1, 'two'] })).toBe('{"a":[1,"two"]}');
    expect(serializeResponse(Buffer.from('hi'))).toBe('{"type":"Buffer","data":[104,105]}');
  });

  it('throws ResponseSerializationError for circular values, BigInt, throwing toJSON, functions', () => {
    const circular: Record<string, unknown> = {};
    circular.self = circular;
    const bad = {
      toJSON(): never {
        throw new Error('nope');
      },
    };
    for (const value of [circular, { n: 1n }, bad, () => 1, Symbol('s')]) {
      let caught: unknown;
      try {
        serializeResponse(value);
      } catch (err) {
        caught = err;
      }
      expect(caught).toBeInstanceOf(ResponseSerializationError);
      expect(describeError(caught)).toMatchObject({
        typeHeader: 'Runtime.ResponseSerializationError',
        response: { errorType: 'Runtime.ResponseSerializationError' },
      });
    }
  });
});

describe('renderValue', () => {
  const secret = 'render-canary-0b7c';
  class Redacting {
    readonly token = secret;
    [inspect.custom](): string {
      return 'Redacting <hidden>';
    }
  }

  it('honours the value\'s own inspector, at the top and nested', () => {
    expect(renderValue(new Redacting())).toBe('Redacting <hidden>');
    expect(renderValue({ reason: 'bad', config: new Redacting() })).toBe("{ reason: 'bad', config: Redacting <hidden> }");
  });

  it('honours toJSON when the value has no inspector of its own', () => {
    const value = { token: secret, toJSON: () => ({ token: '<hidden>' }) };
    expect(renderValue(value)).toBe('{"token":"<hidden>"}');
  });

  it('returns a placeholder, never a rendering past the inspector, when it throws', () => {
    const hostile = {
      token: secret,
      [inspect.custom]() {
        throw new Error('no');
      },
    };
    expect(renderValue(hostile)).toBe('[value that could not be rendered]');
    expect(renderValue(new Proxy({ token: secret }, {}))).toBe('[Proxy]');
  });

  it('describes thrown non-errors through renderValue, so the /error body keeps the redaction', () => {
    const { response } = describeError({ reason: 'bad', config: new Redacting() });
    expect(response.errorType).toBe('NonErrorThrown');
    expect(response.errorMessage).not.toContain(secret);
    expect(describeError(new Proxy({}, { getPrototypeOf: () => { throw new Error('trap'); } })).response.errorMessage).toBe('[Proxy]');
  });
});
