/**
 * Log records of errors through the built bootstrap, as the managed runtime writes them
 * (aws-lambda-nodejs-runtime-interface-client src/logging/formatter.ts, src/utils/error.ts,
 * src/logging/telemetry-logger.ts).
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { expect, it } from 'vitest';
import { BOOTSTRAP, describeOnEachNode, makeTaskRoot, NODE22, startBootstrap } from '@custom-runtime/test-support';

const faults = `
  export const nullCtor = async () => { const e = new Error('no ctor'); e.constructor = null; console.error(e); throw e; };
  export const undefinedCtor = async () => { const e = new TypeError('undefined ctor'); Object.defineProperty(e, 'constructor', { value: undefined }); console.error('multi', e); return 1; };
  function Custom() {}
  export const overridden = async () => { const e = new RangeError('overridden'); e.constructor = Custom; console.error(e); return 1; };
  export const circular = async () => { const e = new Error('loops'); e.self = e; throw e; };
`;

function jsonLines(stdout: string): Array<Record<string, unknown>> {
  return stdout
    .split('\n')
    .filter((line) => line.startsWith('{'))
    .map((line) => JSON.parse(line) as Record<string, unknown>);
}

describeOnEachNode('error records', (node) => {
  it('names errorType after the constructor, UnknownError when it is null or undefined (JSON format)', async () => {
    // src/logging/formatter.ts L64 (a single Error argument, jsonErrorReplacer) and L50 (the
    // first Error among several): errorType = constructor?.name ?? "UnknownError".
    const root = await makeTaskRoot({ 'app.mjs': faults });
    for (const [handler, expected] of [
      ['nullCtor', 'UnknownError'],
      ['undefinedCtor', 'UnknownError'],
      ['overridden', 'Custom'],
    ] as const) {
      const fn = await startBootstrap({ node, taskRoot: root, handler: `app.${handler}`, env: { AWS_LAMBDA_LOG_FORMAT: 'JSON' } });
      await fn.invoke({}, { requestId: `req-${handler}` });
      await fn.stop();
      const records = jsonLines(fn.stdout()).filter((r) => r.level === 'ERROR');
      const first = records[0];
      const errorType = typeof first?.message === 'object' ? (first.message as Record<string, unknown>).errorType : first?.errorType;
      expect(errorType, `${handler}: ${fn.logs()}`).toBe(expected);
      expect(first?.requestId).toBe(`req-${handler}`);
    }
  });

  it('keeps the whole stack in the "Invoke Error" line of an error with a circular property (Text format)', async () => {
    // src/utils/error.ts L48 (`toFormatted`): JSON.stringify fails on the cycle, and
    // `formatError` (L16) keeps type, message and the stack split into lines as `trace`.
    const root = await makeTaskRoot({ 'app.mjs': faults });
    const fn = await startBootstrap({ node, taskRoot: root, handler: 'app.circular' });
    const result = await fn.invoke({});
    expect(result.error?.errorMessage).toBe('loops');
    const line = await fn.waitForLog(/Invoke Error \t\{.*\}/);
    const record = JSON.parse(line.slice(line.indexOf('{'))) as { errorType: string; errorMessage: string; trace: string[] };
    expect(record.errorType).toBe('Error');
    expect(record.errorMessage).toBe('loops');
    expect(record.trace[0]).toBe('Error: loops');
    expect(record.trace.some((frame) => frame.includes('app.mjs'))).toBe(true);
  });

  it('writes one telemetry frame per record, a JSON frame holding exactly one record and no newline', async () => {
    // src/logging/telemetry-logger.ts: a text frame ends with LINE_DELIMITER (L51), a JSON frame
    // is the record alone (L63-71).
    const root = await makeTaskRoot({
      'app.mjs': `export const handler = async () => { console.log('first'); console.error(new Error('second')); console.warn('a\\nb'); return 1; };`,
    });
    const frames = path.join(root, 'telemetry.bin');
    const nodeBinary = node === 'node22' ? (NODE22 as string) : process.execPath;
    // The shell opens fd 3 on a file and becomes Node: the fd Lambda would pass as _LAMBDA_TELEMETRY_LOG_FD.
    const fn = await startBootstrap({
      taskRoot: root,
      handler: 'app.handler',
      command: '/bin/sh',
      args: ['-c', 'exec "$0" "$1" 3>"$2"', nodeBinary, BOOTSTRAP, frames],
      env: { _LAMBDA_TELEMETRY_LOG_FD: '3', AWS_LAMBDA_LOG_FORMAT: 'JSON' },
    });
    await fn.invoke({}, { requestId: 'req-frames' });
    await fn.stop();
    const bytes = await readFile(frames);
    const records: Array<{ type: number; body: string }> = [];
    for (let offset = 0; offset < bytes.length; ) {
      const type = bytes.readUInt32BE(offset);
      const length = bytes.readUInt32BE(offset + 4);
      records.push({ type, body: bytes.subarray(offset + 16, offset + 16 + length).toString('utf8') });
      offset += 16 + length;
    }
    const mine = records.filter((r) => r.body.includes('req-frames'));
    expect(mine).toHaveLength(3);
    for (const frame of mine) {
      expect(frame.type >>> 16).toBe(0xa55a);
      expect(frame.body.endsWith('\n')).toBe(false);
      expect(() => JSON.parse(frame.body)).not.toThrow();
    }
    expect(JSON.parse(mine[2]?.body ?? '{}')).toMatchObject({ level: 'WARN', message: 'a\nb' });
    // Nothing of these records went to stdout.
    expect(fn.stdout()).not.toContain('req-frames');
  });
});
