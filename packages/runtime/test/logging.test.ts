import { mkdtempSync, openSync, closeSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterEach, describe, expect, it } from 'vitest';
import { createContext, readFunctionInfo } from '../src/context.js';
import { getHost } from '../src/host.js';
import {
  createFdSink,
  createTelemetrySink,
  installLogging,
  logger,
  readLoggingConfig,
  uninstallLogging,
  type LogFormat,
  type LogLevel,
} from '../src/logging.js';

interface Captured {
  record: string;
  level: LogLevel;
  format: LogFormat;
}

function capture(env: NodeJS.ProcessEnv): Captured[] {
  const records: Captured[] = [];
  installLogging(env, { sink: (record, level, format) => records.push({ record, level, format }) });
  return records;
}

function inInvocation<T>(requestId: string, fn: () => T, tenantId?: string): T {
  const context = createContext(
    {
      requestId,
      deadlineMs: Date.now() + 60_000,
      invokedFunctionArn: 'arn:aws:lambda:eu-west-1:123456789012:function:f',
      traceId: undefined,
      clientContext: undefined,
      cognitoIdentity: undefined,
      tenantId,
    },
    readFunctionInfo({}),
  );
  return getHost().invocations.run({ requestId, traceId: undefined, tenantId, event: {}, context }, fn);
}

const TEXT_LINE = /^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z)\t([^\t]+)\t([A-Z]+)\t(.*)$/s;

afterEach(() => {
  uninstallLogging();
});

describe('readLoggingConfig', () => {
  it('defaults to Text with nothing filtered, like ric', () => {
    expect(readLoggingConfig({})).toEqual({ format: 'TEXT', minLevel: 'TRACE' });
  });
  it('reads format and level case-insensitively and ignores unknown values', () => {
    expect(readLoggingConfig({ AWS_LAMBDA_LOG_FORMAT: 'json', AWS_LAMBDA_LOG_LEVEL: 'warn' })).toEqual({
      format: 'JSON',
      minLevel: 'WARN',
    });
    expect(readLoggingConfig({ AWS_LAMBDA_LOG_FORMAT: 'xml', AWS_LAMBDA_LOG_LEVEL: 'loud' })).toEqual({
      format: 'TEXT',
      minLevel: 'TRACE',
    });
  });
});

describe('Text format', () => {
  it('writes timestamp, request id, level and the util.format message', () => {
    const records = capture({});
    console.log('hello %s, %d items', 'world', 3, { a: 1 });
    expect(records).toHaveLength(1);
    const match = TEXT_LINE.exec(records[0]!.record);
    expect(match).not.toBeNull();
    expect(match![2]).toBe('undefined');
    expect(match![3]).toBe('INFO');
    expect(match![4]).toBe("hello world, 3 items { a: 1 }");
  });

  it('maps every console method to its level (log → INFO, trace → TRACE)', () => {
    const records = capture({});
    console.trace('t');
    console.debug('d');
    console.info('i');
    console.log('l');
    console.warn('w');
    console.error('e');
    (console as unknown as { fatal(m: string): void }).fatal('f');
    expect(records.map((r) => r.level)).toEqual(['TRACE', 'DEBUG', 'INFO', 'INFO', 'WARN', 'ERROR', 'FATAL']);
    expect(records[0]!.record.endsWith('\tTRACE\tt')).toBe(true);
  });

  it('tags records with the request id of the current invocation, even when interleaved', async () => {
    const records = capture({});
    await Promise.all([
      inInvocation('req-A', async () => {
        await sleep(5);
        console.log('from A');
      }),
      inInvocation('req-B', async () => {
        console.log('from B');
        await sleep(10);
        console.log('from B again');
      }),
    ]);
    const byMessage = new Map(records.map((r) => {
      const m = TEXT_LINE.exec(r.record)!;
      return [m[4], m[2]] as const;
    }));
    expect(byMessage.get('from A')).toBe('req-A');
    expect(byMessage.get('from B')).toBe('req-B');
    expect(byMessage.get('from B again')).toBe('req-B');
  });

  it('filters below AWS_LAMBDA_LOG_LEVEL', () => {
    const records = capture({ AWS_LAMBDA_LOG_LEVEL: 'WARN' });
    console.debug('no');
    console.log('no');
    console.warn('yes');
    console.error('yes');
    expect(records.map((r) => r.level)).toEqual(['WARN', 'ERROR']);
    expect(logger.isEnabled('INFO')).toBe(false);
    expect(logger.isEnabled('FATAL')).toBe(true);
  });

  it('never throws on hostile arguments', () => {
    const records = capture({});
    const hostile = {
      toString(): never {
        throw new Error('no');
      },
      [Symbol.toPrimitive](): never {
        throw new Error('no');
      },
    };
    const circular: Record<string, unknown> = {};
    circular.self = circular;
    expect(() => console.log('%s %d', hostile, hostile, circular, 10n, Symbol('s'))).not.toThrow();
    expect(records).toHaveLength(1);
  });
});

describe('JSON format', () => {
  it('writes one object with timestamp, level, requestId and message', () => {
    const records = capture({ AWS_LAMBDA_LOG_FORMAT: 'JSON' });
    inInvocation('req-1', () => console.info('hello %s', 'there'));
    const parsed = JSON.parse(records[0]!.record) as Record<string, unknown>;
    expect(Object.keys(parsed)).toEqual(['timestamp', 'level', 'requestId', 'message']);
    expect(parsed).toMatchObject({ level: 'INFO', requestId: 'req-1', message: 'hello there' });
    expect(new Date(parsed.timestamp as string).toISOString()).toBe(parsed.timestamp);
  });

  it('keeps a single object argument structured and adds tenantId when set', () => {
    const records = capture({ AWS_LAMBDA_LOG_FORMAT: 'JSON' });
    inInvocation('req-2', () => console.log({ order: 7, items: ['a'] }), 'tenant-9');
    expect(JSON.parse(records[0]!.record)).toMatchObject({
      requestId: 'req-2',
      tenantId: 'tenant-9',
      message: { order: 7, items: ['a'] },
    });
  });

  it('omits requestId outside an invocation', () => {
    const records = capture({ AWS_LAMBDA_LOG_FORMAT: 'JSON' });
    console.log('boot');
    expect(JSON.parse(records[0]!.record)).not.toHaveProperty('requestId');
  });

  it('describes a single Error argument as the message', () => {
    const records = capture({ AWS_LAMBDA_LOG_FORMAT: 'JSON' });
    class ValidationError extends Error {}
    console.error(new ValidationError('bad'));
    const parsed = JSON.parse(records[0]!.record) as { message: Record<string, unknown> };
    expect(parsed.message).toMatchObject({ errorType: 'ValidationError', errorMessage: 'bad' });
    // Like ric, the log keeps the whole stack, head line included.
    expect((parsed.message.stackTrace as string[])[0]).toBe('Error: bad');
  });

  it('adds errorType, errorMessage and stackTrace for an Error among several arguments', () => {
    const records = capture({ AWS_LAMBDA_LOG_FORMAT: 'JSON' });
    const err = new TypeError('broken');
    console.error('failed:', err);
    const parsed = JSON.parse(records[0]!.record) as Record<string, unknown>;
    expect(parsed).toMatchObject({ level: 'ERROR', errorType: 'TypeError', errorMessage: 'broken' });
    expect(parsed.message).toMatch(/^failed: TypeError: broken/);
    expect(Array.isArray(parsed.stackTrace)).toBe(true);
  });

  it('falls back to a formatted message for circular values and BigInt', () => {
    const records = capture({ AWS_LAMBDA_LOG_FORMAT: 'JSON' });
    const circular: Record<string, unknown> = {};
    circular.self = circular;
    console.log(circular);
    console.log({ n: 1n });
    expect(JSON.parse(records[0]!.record)).toMatchObject({ message: '<ref *1> { self: [Circular *1] }' });
    expect(JSON.parse(records[1]!.record)).toMatchObject({ message: '{ n: 1n }' });
  });
});

describe('logger', () => {
  it('line() logs preformatted text for an explicit request id, without placeholder expansion', () => {
    const records = capture({});
    logger.line('INFO', 'req-x', '100%% done %s');
    const match = TEXT_LINE.exec(records[0]!.record)!;
    expect(match[2]).toBe('req-x');
    expect(match[4]).toBe('100%% done %s');
  });

  it('logError writes ric-style Invoke Error records', () => {
    const text = capture({});
    const err = Object.assign(new Error('boom'), { code: 'E_BOOM' });
    logger.logError('Invoke Error', err);
    const line = TEXT_LINE.exec(text[0]!.record)!;
    expect(line[3]).toBe('ERROR');
    const [head, json] = line[4]!.split(' \t');
    expect(head).toBe('Invoke Error');
    expect(JSON.parse(json!)).toMatchObject({ errorType: 'Error', errorMessage: 'boom', code: 'E_BOOM' });

    const structured = capture({ AWS_LAMBDA_LOG_FORMAT: 'JSON' });
    logger.logError('Invoke Error', 'not an error');
    expect(JSON.parse(structured[0]!.record)).toMatchObject({
      level: 'ERROR',
      message: { errorType: 'Error', errorMessage: 'not an error' },
    });
  });
});

describe('sinks', () => {
  it('the fd sink writes one line per record with newlines turned into \\r', () => {
    const dir = mkdtempSync(join(tmpdir(), 'logging-'));
    const file = join(dir, 'out.log');
    const fd = openSync(file, 'w');
    try {
      installLogging({}, { sink: createFdSink(fd) });
      console.log('first\nsecond');
      console.log('third');
    } finally {
      uninstallLogging();
      closeSync(fd);
    }
    const lines = readFileSync(file, 'utf8').split('\n');
    expect(lines).toHaveLength(3);
    expect(lines[0]).toMatch(/\tINFO\tfirst\rsecond$/);
    expect(lines[1]).toMatch(/\tINFO\tthird$/);
    expect(lines[2]).toBe('');
    rmSync(dir, { recursive: true, force: true });
  });

  it('the telemetry sink frames each record with type, level, length and timestamp', () => {
    const dir = mkdtempSync(join(tmpdir(), 'logging-'));
    const file = join(dir, 'telemetry.bin');
    const fd = openSync(file, 'w');
    const env: NodeJS.ProcessEnv = { _LAMBDA_TELEMETRY_LOG_FD: String(fd), AWS_LAMBDA_LOG_FORMAT: 'JSON' };
    try {
      installLogging(env);
      expect(env._LAMBDA_TELEMETRY_LOG_FD).toBeUndefined();
      console.warn('multi\nline');
    } finally {
      uninstallLogging();
      closeSync(fd);
    }
    const data = readFileSync(file);
    const type = data.readUInt32BE(0);
    const length = data.readUInt32BE(4);
    const micros = data.readBigInt64BE(8);
    expect(type).toBe((0xa55a0002 | 0b10000) >>> 0);
    expect(length).toBe(data.length - 16);
    expect(Number(micros / 1000n)).toBeGreaterThan(Date.now() - 60_000);
    // One JSON record, nothing after it (src/logging/telemetry-logger.ts writes no delimiter for JSON).
    expect(data.subarray(16).toString('utf8').endsWith('}')).toBe(true);
    expect(JSON.parse(data.subarray(16).toString('utf8'))).toMatchObject({ level: 'WARN', message: 'multi\nline' });
    rmSync(dir, { recursive: true, force: true });
    expect(createTelemetrySink).toBeTypeOf('function');
  });
});

describe('installLogging / uninstallLogging', () => {
  it('restores the original console methods', () => {
    const original = console.log;
    capture({});
    expect(console.log).not.toBe(original);
    uninstallLogging();
    expect(console.log).toBe(original);
    expect((console as unknown as { fatal?: unknown }).fatal).toBeUndefined();
  });
});
