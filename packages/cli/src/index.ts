export { runCli, usage, type CommandRunner } from './cli.js';
export { CliError, UsageError, EXIT_OK, EXIT_FAILURE, EXIT_USAGE } from './cli-error.js';
export { processIo, type CommandIo } from './io.js';
export { envSet, ENV_SET_USAGE, type EnvSetDependencies } from './commands/env-set.js';
export { invoke, INVOKE_USAGE, type InvokeReport } from './commands/invoke.js';
export { check, checkTemplate, CHECK_USAGE, type CheckReport, type CheckedFunction } from './commands/check.js';
export { diffEnvironment, formatDiff, type EnvironmentDiff } from './diff.js';
export { environmentKeyProblem } from './env-keys.js';
export { handlerFromDockerfile } from './dockerfile.js';
