/**
 * How image.ts maps a Dockerfile's final stage to host files, and what it says when it cannot.
 */
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { parseDockerfile } from '@custom-runtime/cli';
import { makeTaskRoot, REPO_ROOT } from '@custom-runtime/test-support';
import { compileStagePrograms, compileSteps, hostSource, planImage, readDockerfile } from './image.js';

const DOCKERFILE = `
FROM public.ecr.aws/lambda/nodejs:22 AS build
WORKDIR /src
COPY . .
FROM public.ecr.aws/lambda/provided:al2023 AS cc
WORKDIR /src
COPY app/main.c app/main.c
RUN mkdir -p app/dist && gcc -O2 -o app/dist/main app/main.c
FROM public.ecr.aws/lambda/nodejs:22 AS node
FROM public.ecr.aws/lambda/provided:al2023
COPY --from=node /var/lang/bin/node /var/lang/bin/node
COPY --from=build /src/app/dist/ /var/task/
COPY --from=cc /src/app/dist/main /var/task/main
COPY app/run.sh /var/task/
CMD ["run.sh"]
`;

describe('image.ts', () => {
  const savedPath = process.env.PATH;
  afterEach(() => {
    process.env.PATH = savedPath;
  });

  it('maps build-stage /src paths to the repository, context paths to the root, node to the host', async () => {
    const root = await makeTaskRoot({
      'app/dist/handler.mjs': 'export const handler = () => 1;',
      'app/dist/chunks/a.mjs': '',
      'app/run.sh': { content: '#!/bin/sh\n', mode: 0o755 },
    });
    const file = parseDockerfile(DOCKERFILE, { file: 'D' });
    const plan = await planImage(file, root);
    expect(plan.map((p) => [p.copy.line, p.hostPath === 'host' ? 'host' : path.relative(root, p.hostPath), p.exists])).toEqual([
      [11, 'host', true],
      [12, 'app/dist', true],
      [13, 'app/dist/main', false],
      [14, 'app/run.sh', true],
    ]);
    expect(plan[1]?.files.map((f) => f.imagePath).sort()).toEqual(['/var/task/chunks/a.mjs', '/var/task/handler.mjs']);
    expect(plan[3]?.files.map((f) => f.imagePath)).toEqual(['/var/task/run.sh']);
  });

  it('finds the compile commands of the stages the final stage copies from', () => {
    expect(compileSteps(parseDockerfile(DOCKERFILE, { file: 'D' }))).toEqual([{ stage: 'cc', args: ['-O2', '-o', 'app/dist/main', 'app/main.c'], output: 'app/dist/main' }]);
  });

  it('says what it cannot map', () => {
    const file = parseDockerfile('FROM a AS x\nFROM scratch\nCOPY --from=x /opt/thing /t\nCOPY --from=y /src/a /t\nCOPY ../up /t', { file: 'D' });
    const [fromX, fromY, up] = file.finalStage.copies;
    expect(() => hostSource(file, fromX!, '/opt/thing', REPO_ROOT)).toThrow(/^D:3: cannot tell where \/opt\/thing of stage x is on the host/);
    expect(() => hostSource(file, fromY!, '/src/a', REPO_ROOT)).toThrow(/^D:4: COPY --from=y names no stage of this Dockerfile/);
    expect(() => hostSource(file, up!, '../up', REPO_ROOT)).toThrow(/^D:5: COPY source \.\.\/up leaves the build context/);
  });

  it('fails clearly when the host has no C compiler', async () => {
    const file = await readDockerfile(path.join(REPO_ROOT, 'examples/minimal/Dockerfile'), REPO_ROOT);
    process.env.PATH = '/nonexistent';
    await expect(compileStagePrograms(file, REPO_ROOT)).rejects.toThrow(
      /^examples\/minimal\/Dockerfile compiles a C program \(examples\/minimal\/dist\/hello\) and this host has no C compiler `cc`: install gcc or clang/,
    );
  });
});
