// The peers `pnpm bench` needs beyond the workspace install: aws-lambda-ric builds native code
// (aws-lambda-cpp with cmake, a C++ compiler and python3 for node-gyp), so it is no dependency of
// the workspace, whose install must work on a machine with only Node.js and npm. It is installed
// here, with npm, into bench/.peers (gitignored), on the first run and whenever its version is
// not the one below.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

export const RIC_VERSION = '4.0.2';
const peers = fileURLToPath(new URL('../.peers', import.meta.url));
const manifest = `${peers}/node_modules/aws-lambda-ric/package.json`;

function installedVersion() {
  if (!existsSync(manifest)) return undefined;
  return JSON.parse(readFileSync(manifest, 'utf8')).version;
}

/** Installs aws-lambda-ric into bench/.peers unless it is there; exits with a clear message when the build fails. */
export function ensurePeers() {
  if (installedVersion() === RIC_VERSION) return;
  const args = ['install', '--prefix', peers, `aws-lambda-ric@${RIC_VERSION}`, '--no-save', '--no-audit', '--no-fund', '--loglevel=error'];
  process.stdout.write(`bench: installing aws-lambda-ric ${RIC_VERSION} (the peer runtime) into bench/.peers: npm ${args.join(' ')}\n`);
  process.stdout.write('bench: it compiles native code (about a minute); its build output is kept in bench/.peers/install.log\n');
  const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';
  const result = spawnSync(npm, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], maxBuffer: 64 * 2 ** 20 });
  const output = `${result.stdout ?? ''}${result.stderr ?? ''}`;
  mkdirSync(peers, { recursive: true });
  writeFileSync(`${peers}/install.log`, output);
  if (result.status !== 0 || installedVersion() !== RIC_VERSION) {
    const tail = output.trim().split('\n').slice(-15).join('\n');
    process.stderr.write(
      `\nbench: could not install aws-lambda-ric ${RIC_VERSION}, the peer every runtime figure is compared with.\n` +
        'It builds native code: it needs cmake, a C++ compiler (g++ or clang++), make, python3 and network access to the npm registry ' +
        '(e.g. `apt-get install cmake g++ make python3` or `dnf install cmake gcc-c++ make python3`).\n' +
        `${result.error !== undefined ? `${result.error.message}\n` : ''}Last lines of npm's output:\n${tail}\n`,
    );
    process.exit(1);
  }
}
