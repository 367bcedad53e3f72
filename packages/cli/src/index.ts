export { groupUsage, runCli, usage, type CommandRunner } from './cli.js';
export { CliError, UsageError, EXIT_OK, EXIT_FAILURE, EXIT_USAGE } from './cli-error.js';
export { processIo, type CommandIo } from './io.js';
export { envSet, ENV_SET_USAGE, type EnvSetDependencies } from './commands/env-set.js';
export { invoke, INVOKE_USAGE, terminalLogs, type InvokeReport } from './commands/invoke.js';
export { init, INIT_USAGE } from './commands/init.js';
export { buildCommand, BUILD_USAGE } from './commands/build.js';
export { bundleHandlers, type BundleOptions, type BundleResult } from './handler-bundle.js';
export { handlerBuildOptions, leanAwsPiecesPlugin, type HandlerBuildTarget } from './handler-build-options.mjs';
export { check, checkTemplate, CHECK_USAGE, type CheckReport, type CheckedFunction } from './commands/check.js';
export { diffEnvironment, formatDiff, type EnvironmentDiff } from './diff.js';
export { environmentKeyProblem } from './env-keys.js';
// The readers `check` is built on, shared with the example image tests.
export {
  commandForm,
  commandWords,
  DockerfileError,
  handlerFromDockerfile,
  lambdaBaseImage,
  parseDockerfile,
  type BaseImage,
  type CommandForm,
  type CopyInstruction,
  type Dockerfile,
  type DockerStage,
  type ParseOptions,
} from './dockerfile.js';
export { contextPaths, destinationOf, ImageLayout, layoutOf, type StageLayout } from './image-layout.js';
export { DockerIgnore, globRegExp } from './dockerignore.js';
export { isRecord, parseTemplate, readTemplate, type SamTemplate, type TemplateOptions, type TemplateResource, type TemplateValue } from './template.js';
export { samFunctions, type DockerMetadata, type SamFunction } from './sam-functions.js';
export { moduleHandler, MODULE_EXTENSIONS } from './function-code.js';
export {
  evaluate,
  mapping,
  resolveDynamicReferences,
  templateReferences,
  TemplateError,
  type EvaluationContext,
  type TemplateReference,
} from './intrinsics.js';
