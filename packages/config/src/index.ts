/**
 * Typed, validated, cached configuration for Lambda handlers from environment variables, the
 * invoke payload, AWS Secrets Manager, KMS and Systems Manager Parameter Store.
 *
 * @packageDocumentation
 */
export { defineConfig, getConfig, ConfigDefinition } from './definition.js';
export type { ConfigValues, FieldMap, FieldValue, InferConfig } from './definition.js';
export type { DefinitionOptions } from './definition-state.js';
export { clearConfigCache, TTL_ENV, MAX_STALENESS_ENV } from './definition-state.js';
export type { SnapStartOptions } from './snapstart-refresh.js';
export { ConfigField, PayloadField } from './field.js';
export type { EncryptionContextOption, FieldCacheOptions, FieldSettings, ParameterType, SourceKind, ValueFormat } from './field.js';
export { env } from './sources/env.js';
export { payload } from './sources/payload.js';
export { secret } from './sources/secrets-manager.js';
export type { LiteralSecretOptions, SecretOptions } from './sources/secrets-manager.js';
export { kms } from './sources/kms.js';
export { ssm, ssmPath } from './sources/ssm.js';
export type { LiteralParameterOptions, ParameterOptions, ParameterPathOptions } from './sources/ssm.js';
export { isParameterPath, parseParameterReference, ParameterReferenceError } from './parameter-reference.js';
export type { ParameterReference } from './parameter-reference.js';
export type { KmsOptions } from './sources/kms.js';
export { parseSecretReference, SecretReferenceError } from './secret-reference.js';
export type { SecretReference } from './secret-reference.js';
export { ConfigError } from './config-error.js';
export type { ConfigIssue, ConfigIssueReason } from './config-error.js';
export type { FailureKind } from './aws-errors.js';
export { setConfigClients } from './clients.js';
export { DEFAULT_TIMEOUTS, TIMEOUT_ENV, type AwsTimeouts } from './aws/timeouts.js';
export { TRANSPORT_ENV } from './aws/json-call.js';
export type { ConfigClients } from './clients.js';
export type { ConfigLogger } from './cache.js';
export { withConfig } from './with-config.js';
export type { ConfigHandler, WrappedHandler } from './with-config.js';
export { describeConfig } from './describe.js';
export { inspectConfig, type FieldInfo, type SourceInfo, type EnvSourceInfo, type PayloadSourceInfo, type SecretSourceInfo, type KmsSourceInfo, type ParameterSourceInfo, type ParameterPathSourceInfo } from './inspect.js';
