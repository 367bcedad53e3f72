/**
 * The Dockerfile reader `check`, `invoke` and the example image tests rely on.
 */
import { describe, expect, it } from 'vitest';
import { commandForm, commandWords, DockerfileError, lambdaBaseImage, parseDockerfile, parseEnv, substitute } from '../src/dockerfile.js';

describe('parseDockerfile', () => {
  it('joins continuation lines, skipping comments and blank lines inside them', () => {
    const file = parseDockerfile(
      [
        'FROM public.ecr.aws/lambda/provided:al2023',
        'RUN microdnf install -y \\',
        '    # a comment in the middle',
        '',
        '    gcc \\',
        '  && echo done',
        'CMD ["handler.sh"]',
      ].join('\n'),
    );
    expect(file.finalStage.runs).toEqual([{ form: 'shell', command: 'microdnf install -y      gcc    && echo done' }]);
    expect(file.finalStage.cmd).toEqual({ form: 'exec', args: ['handler.sh'] });
  });

  it('reads the escape directive', () => {
    const file = parseDockerfile(['# escape=`', 'FROM scratch', 'COPY a `', '  /b'].join('\n'));
    expect(file.finalStage.copies[0]).toMatchObject({ sources: ['a'], destination: '/b' });
  });

  it('tells the exec form from the shell form, and falls back to the shell form on bad JSON', () => {
    expect(commandForm('["app.handler", "x"]')).toEqual({ form: 'exec', args: ['app.handler', 'x'] });
    expect(commandForm('app.handler x')).toEqual({ form: 'shell', command: 'app.handler x' });
    expect(commandForm('[app.handler]')).toEqual({ form: 'shell', command: '[app.handler]' });
    expect(commandForm('[1, 2]')).toEqual({ form: 'shell', command: '[1, 2]' });
  });

  it('follows stages: names, indexes, inheritance of ENV, WORKDIR and CMD', () => {
    const file = parseDockerfile(
      [
        'ARG NODE=22',
        'FROM public.ecr.aws/lambda/nodejs:${NODE} AS Build',
        'ENV A=1',
        'WORKDIR /src',
        'WORKDIR app',
        'CMD ["x"]',
        'FROM build AS child',
        'ENV B=$A-2',
        'FROM public.ecr.aws/lambda/provided:al2023',
        'COPY --from=child /src/app/out /var/task/',
        'COPY --from=0 /src/app/other.txt ./other.txt',
        'COPY --chmod=755 local.sh ${LAMBDA_RUNTIME_DIR}/bootstrap',
        'CMD ["handler.handler"]',
      ].join('\n'),
      { file: 'Dockerfile.test' },
    );
    expect(file.stages.map((s) => s.name)).toEqual(['build', 'child', undefined]);
    expect(file.stages[0]?.base).toBe('public.ecr.aws/lambda/nodejs:22');
    const child = file.stage('child');
    expect(child?.baseStage).toBe(file.stage('build'));
    expect(child).toMatchObject({ base: 'build', image: 'public.ecr.aws/lambda/nodejs:22' });
    expect(child?.workdir).toBe('/src/app');
    expect(child?.env.get('B')).toBe('1-2');
    expect(child?.cmd).toEqual({ form: 'exec', args: ['x'] });
    expect(file.stage('0')).toBe(file.stage('BUILD'));

    const final = file.finalStage;
    // A Lambda base image starts in /var/task with its variables set.
    expect(final.workdir).toBe('/var/task');
    expect(final.env.get('LAMBDA_TASK_ROOT')).toBe('/var/task');
    expect(final.copies).toEqual([
      { instruction: 'COPY', line: 10, from: 'child', chmod: undefined, chown: undefined, sources: ['/src/app/out'], destination: '/var/task/' },
      { instruction: 'COPY', line: 11, from: '0', chmod: undefined, chown: undefined, sources: ['/src/app/other.txt'], destination: '/var/task/other.txt' },
      { instruction: 'COPY', line: 12, from: undefined, chmod: '755', chown: undefined, sources: ['local.sh'], destination: '/var/runtime/bootstrap' },
    ]);
    expect(final.cmd).toEqual({ form: 'exec', args: ['handler.handler'] });
  });

  it('reads JSON-form COPY and several sources into a directory', () => {
    const file = parseDockerfile(['FROM scratch', 'WORKDIR /app', 'COPY ["a b.txt", "c", "dest/"]'].join('\n'));
    expect(file.finalStage.copies[0]).toMatchObject({ sources: ['a b.txt', 'c'], destination: '/app/dest/' });
  });

  it('reads both ENV forms, quotes and substitution', () => {
    expect(parseEnv('A=1 B="two words" C=\'$HOME\' D=e\\ f')).toEqual([
      ['A', '1'],
      ['B', 'two words'],
      ['C', '$HOME'],
      ['D', 'e f'],
    ]);
    expect(parseEnv('LEGACY value with spaces')).toEqual([['LEGACY', 'value with spaces']]);
    const vars = new Map([['A', 'x'], ['EMPTY', '']]);
    expect(substitute('$A ${A} ${MISSING:-d} ${EMPTY:-d} ${A:+set} ${MISSING:+set} \\$A', vars)).toBe('x x d d set  $A');
  });

  it('ENTRYPOINT resets an inherited CMD; RUN flags are not the command', () => {
    const file = parseDockerfile(['FROM a AS one', 'CMD ["x"]', 'FROM one', 'ENTRYPOINT ["/e"]', 'RUN --mount=type=cache,target=/c make'].join('\n'));
    expect(file.finalStage.cmd).toBeUndefined();
    expect(file.finalStage.entrypoint).toEqual({ form: 'exec', args: ['/e'] });
    expect(file.finalStage.runs).toEqual([{ form: 'shell', command: 'make' }]);
  });

  it('names the file and line of what it cannot read', () => {
    expect(() => parseDockerfile('RUN x\nFROM a', { file: 'x/Dockerfile' })).toThrow(new DockerfileError('x/Dockerfile:1: RUN before the first FROM (only ARG may come first)'));
    expect(() => parseDockerfile('FROM a\nCOPY --exclude=*.md . /x', { file: 'D' })).toThrow(/^D:2: COPY --exclude is not supported/);
    expect(() => parseDockerfile('FROM a\nCOPY a b /x', { file: 'D' })).toThrow(/^D:2: COPY with several sources needs a destination ending with "\/"/);
    expect(() => parseDockerfile('FROM a AS x\nFROM b AS X', { file: 'D' })).toThrow(/^D:2: a stage named "x" exists already/);
    expect(() => parseDockerfile('# just a comment', { file: 'D' })).toThrow(/^D:1: no FROM instruction/);
    expect(() => parseDockerfile('FROM a\nENV A="open', { file: 'D' })).toThrow(/^D:2: unterminated " quote/);
  });

  it('substitutes global ARG defaults and build args; one instruction sees the variables as they were before it', () => {
    const file = parseDockerfile(
      ['ARG A=1', 'ARG B=${A}-x', 'ARG C', 'FROM img:$B-$C', 'ARG C', 'ENV A=1', 'ENV A=2 OLD=$A', 'ENV LEGACY "x y"'].join('\n'),
      { buildArgs: new Map([['C', 'c']]) },
    );
    expect(file.finalStage.base).toBe('img:1-x-c');
    expect(file.finalStage.env).toEqual(new Map([['A', '2'], ['OLD', '1'], ['LEGACY', 'x y']]));
  });

  it('copies to "." as into a directory; ENTRYPOINT keeps a CMD set in the same stage', () => {
    const file = parseDockerfile(['FROM scratch', 'WORKDIR /app', 'COPY a.txt .', 'CMD ["x"]', 'ENTRYPOINT ["/e"]'].join('\n'));
    expect(file.finalStage.copies[0]).toMatchObject({ sources: ['a.txt'], destination: '/app/' });
    expect(file.finalStage.cmd).toEqual({ form: 'exec', args: ['x'] });
  });

  it('knows what the Lambda base images (and mirrors of them) set', () => {
    expect(lambdaBaseImage('public.ecr.aws/lambda/provided:al2023')).toEqual({
      env: new Map([['LAMBDA_TASK_ROOT', '/var/task'], ['LAMBDA_RUNTIME_DIR', '/var/runtime']]),
      workdir: '/var/task',
    });
    expect(lambdaBaseImage('123456789012.dkr.ecr.eu-west-1.amazonaws.com/ecr-public/lambda/nodejs:22').workdir).toBe('/var/task');
    expect(lambdaBaseImage('node:22')).toEqual({ env: new Map(), workdir: '/' });
  });

  it('leniently, skips what it cannot read and reads on; a file without FROM still fails', () => {
    const file = parseDockerfile(
      ['RUN early', 'FROM a AS x y', 'COPY --exclude=*.md . /x', 'COPY <<EOF /f', 'ONBUILD RUN z', 'COPY only', 'ENV A="open', 'CMD ["h.handler"]'].join('\n'),
      { lenient: true },
    );
    expect(file.stages.map((s) => [s.name, s.base])).toEqual([[undefined, 'a']]);
    expect(file.finalStage.copies).toEqual([
      { instruction: 'COPY', line: 3, from: undefined, chmod: undefined, chown: undefined, sources: ['.'], destination: '/x' },
    ]);
    expect(file.finalStage.env.get('A')).toBe('open');
    expect(file.finalStage.cmd).toEqual({ form: 'exec', args: ['h.handler'] });
    expect(() => parseDockerfile('# just a comment', { file: 'D', lenient: true })).toThrow(/^D:1: no FROM instruction/);
  });
});

describe('commandWords', () => {
  it('reads the exec form, splits the shell form, and names nothing for an empty or broken one', () => {
    expect(commandWords({ form: 'exec', args: ['app.handler', 'x'] })).toEqual(['app.handler', 'x']);
    expect(commandWords(commandForm('handler.sh --flag'))).toEqual(['handler.sh', '--flag']);
    expect(commandWords(commandForm('[broken'))).toBeUndefined();
    expect(commandWords(commandForm('[]'))).toBeUndefined();
    expect(commandWords(commandForm('[""]'))).toBeUndefined();
    expect(commandWords(commandForm(''))).toBeUndefined();
    expect(commandWords(undefined)).toBeUndefined();
  });
});
