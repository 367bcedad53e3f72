// pnpm demo: the secrets example's real bootstrap and handlers on the local stand-ins of the
// Lambda Runtime API, Secrets Manager, KMS and Parameter Store. Run by `pnpm demo` after `pnpm build`.
import { randomBytes } from 'node:crypto';
import { cp, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { startFunction, startKms, startParameterStore, startSecretsManager } from '@custom-runtime/local';

const root = fileURLToPath(new URL('..', import.meta.url));
const bootstrap = path.join(root, 'packages/runtime/dist/bootstrap');
const example = path.join(root, 'examples/secrets');
const FUNCTION_NAME = 'secrets-demo';
const STEPS = 7;
let step = 0;
const started = Date.now();

const progress = (text) => console.log(`\n[${++step}/${STEPS}] ${text}`);
const indent = (text) => text.replace(/^/gm, '    ');
const show = (label, value) => console.log(indent(`${label}\n${typeof value === 'string' ? value : JSON.stringify(value, null, 2)}`));

/** One line per field of a secrets-example answer: where it came from, and facts, never the value. */
function fieldTable(answer, previous) {
  const entries = Object.entries(answer.fields).filter(
    ([name, f]) => previous === undefined || JSON.stringify(previous.fields[name]) !== JSON.stringify(f),
  );
  if (entries.length === 0) return '  (the same values as before)';
  const rows = entries.map(([name, f]) => {
    const facts = !f.present
      ? 'absent'
      : f.keys
        ? `keys ${f.keys.join(', ')}`
        : f.value !== undefined
          ? `value ${JSON.stringify(f.value)} (not a secret)`
        : `${f.length} bytes, sha256 ${f.sha256}…`;
    return [name, f.source ?? '', facts];
  });
  const widths = [0, 1].map((i) => Math.max(...rows.map((r) => r[i].length)));
  return rows.map((r) => `  ${r[0].padEnd(widths[0])}  ${r[1].padEnd(widths[1])}  ${r[2]}`.trimEnd()).join('\n');
}

/** The lines the function logged, as CloudWatch would show them, without the runtime's own. */
const functionLogs = (fn) =>
  fn
    .logs()
    .split('\n')
    .filter((line) => line.trim() !== '' && !line.includes('NodeVersionSupportWarning') && !line.includes('node --trace-warnings'))
    // Text format keeps a multi-line message in one CloudWatch event by turning \n into \r.
    .map((line) => line.replaceAll('\r', '\n  '))
    .join('\n');

/** Resolves once the function polls /next; an init error (or an exit) fails the demo with it instead of waiting forever. */
async function readyOrInitError(fn) {
  const failed = Promise.race([
    fn.runtimeApi.waitForInitError().then((e) => `init error ${e.errorType}: ${e.error?.errorMessage ?? ''}`),
    fn.exited.then((exit) => `the bootstrap exited (code ${exit.code}, signal ${exit.signal})\n${fn.logs()}`),
  ]).then((why) => Promise.reject(new Error(why)));
  failed.catch(() => {});
  await Promise.race([fn.runtimeApi.waitForPoll(), failed]);
}

const cleanups = [];
try {
  progress('Starting the Secrets Manager, KMS and Parameter Store stand-ins on 127.0.0.1');
  const [sm, kms] = await Promise.all([startSecretsManager(), startKms()]);
  cleanups.push(() => sm.close(), () => kms.close());
  const ssm = await startParameterStore({ kms });
  cleanups.push(() => ssm.close());
  console.log(indent(`Secrets Manager ${sm.url}\nKMS             ${kms.url}\nParameter Store ${ssm.url}`));

  progress('Seeding a JSON secret, a KMS key, a value encrypted the way the Lambda console does, and two parameters');
  // Fresh random values: nothing printed below can be compared against a known string.
  const password = randomBytes(18).toString('base64url');
  const secret = sm.createSecret('examples/secrets-demo', JSON.stringify({ username: 'app', password }));
  const key = kms.createKey();
  // The console's encryption helper binds the ciphertext to the function's name.
  const legacyToken = kms.encryptToBase64(key.keyId, `legacy-${randomBytes(8).toString('hex')}`, {
    LambdaFunctionName: FUNCTION_NAME,
  });
  // The template's String parameter, and the SecureString made with `aws ssm put-parameter`.
  const greeting = ssm.putParameter('/examples/secrets/greeting', 'hello from Parameter Store');
  const secureParameter = ssm.putParameter('/examples/secrets/api-key', randomBytes(12).toString('hex'), { type: 'SecureString' });
  console.log(
    indent(
      `secret ${secret.arn}\nkey    ${key.arn}\nLEGACY_TOKEN_ENCRYPTED = ${legacyToken.slice(0, 16)}… (base64 ciphertext)\n` +
        `parameters ${greeting.arn} (String), ${secureParameter.arn} (SecureString)`,
    ),
  );

  // What template.yaml and CloudFormation give the function, with the SDK pointed at the stand-ins.
  const env = {
    APP_STAGE: 'dev',
    API_TOKEN: randomBytes(12).toString('hex'), // the NoEcho parameter
    RESOLVED_PASSWORD: password, // what {{resolve:secretsmanager:...:password}} resolves to at deploy time
    EXAMPLES_SECRET_ARN: secret.arn,
    LEGACY_TOKEN_ENCRYPTED: legacyToken,
    EXAMPLES_PARAMETER: '/examples/secrets/greeting',
    EXAMPLES_SECURE_PARAMETER: '/examples/secrets/api-key',
    AWS_ENDPOINT_URL_SECRETS_MANAGER: sm.url,
    AWS_ENDPOINT_URL_KMS: kms.url,
    AWS_ENDPOINT_URL_SSM: ssm.url,
    AWS_ACCESS_KEY_ID: 'demo',
    AWS_SECRET_ACCESS_KEY: 'demo',
    AWS_REGION: sm.region,
    AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
  };

  // The image's /var/task: the bundled handlers and handler.sh, as the Dockerfile copies them.
  const taskRoot = await mkdtemp(path.join(tmpdir(), 'secrets-demo-'));
  cleanups.push(() => rm(taskRoot, { recursive: true, force: true }));
  await cp(path.join(example, 'dist'), taskRoot, { recursive: true });
  await cp(path.join(example, 'handler.sh'), path.join(taskRoot, 'handler.sh'));

  progress('Starting the bootstrap with CMD ["handler.handler"] (config prefetched during init)');
  const fn = await startFunction({ bootstrap, taskRoot, handler: 'handler.handler', functionName: FUNCTION_NAME, env });
  cleanups.push(() => fn.stop());
  await readyOrInitError(fn);
  console.log(
    indent(`ready after ${sm.callCount()} Secrets Manager, ${kms.callCount()} KMS and ${ssm.callCount()} Parameter Store call(s), before the first invocation`),
  );

  progress('Invoking it three times; the third passes a value in the payload');
  let previous;
  for (const [label, event] of [
    ['cold', {}],
    ['warm', {}],
    ['with payload', { requestToken: `tok-${randomBytes(6).toString('hex')}` }],
  ]) {
    const callsBefore = sm.callCount() + kms.callCount() + ssm.callCount();
    const result = await fn.invoke(event);
    if (result.status !== 'success') throw new Error(`invocation failed: ${result.text()}`);
    const calls = sm.callCount() + kms.callCount() + ssm.callCount() - callsBefore;
    const answer = result.json();
    show(
      `${label}: ${result.durationMs.toFixed(1)} ms, ${calls} AWS call(s), stage ${answer.stage}, checks ${JSON.stringify(answer.checks)}`,
      fieldTable(answer, previous),
    );
    previous = answer;
  }
  show('function logs (config provenance, values redacted):', functionLogs(fn));

  progress('The same configuration handed to a shell script (CUSTOM_RUNTIME_CONFIG=config.config)');
  const shell = await startFunction({
    bootstrap,
    taskRoot,
    handler: 'handler.sh',
    functionName: FUNCTION_NAME,
    env: { ...env, CUSTOM_RUNTIME_CONFIG: 'config.config' },
  });
  cleanups.push(() => shell.stop());
  const shellResult = await shell.invoke({ requestToken: 'from-the-payload' });
  if (shellResult.status !== 'success') throw new Error(`shell invocation failed: ${shellResult.text()}`);
  show('handler.sh answered (its environment, as facts):', fieldTable(shellResult.json()));

  progress('A deliberately missing secret: the init fails, naming the field and the reference');
  const missingArn = `arn:aws:secretsmanager:${sm.region}:${sm.accountId}:secret:examples/does-not-exist-AbCdEf`;
  const broken = await startFunction({
    bootstrap,
    taskRoot,
    handler: 'handler.handler',
    functionName: FUNCTION_NAME,
    env: { ...env, EXAMPLES_SECRET_ARN: missingArn },
  });
  cleanups.push(() => broken.stop());
  const initError = await broken.runtimeApi.waitForInitError();
  const exit = await broken.exited;
  show(`/runtime/init/error ${initError.errorType}, process exited with code ${exit.code}:`, initError.error?.errorMessage ?? '');

  progress('Done');
  console.log(indent(`demo finished in ${((Date.now() - started) / 1000).toFixed(1)} s; stand-ins stopped`));
} finally {
  for (const cleanup of cleanups.reverse()) await cleanup();
}
