export { AwsServiceError, type AwsJsonStandIn, type FaultKind, type FaultSpec, type RecordedCall } from './aws-json-server.js';
export { startSecretsManager, type CreatedSecret, type SecretsManagerOptions, type SecretsManagerStandIn } from './secrets-manager.js';
export { startKms, type CreatedKey, type EncryptionContext, type KmsOptions, type KmsStandIn } from './kms.js';
export { startRuntimeApi, DEFAULT_TIMEOUT_MS, MAX_RESPONSE_BYTES, MAX_STREAMED_RESPONSE_BYTES } from './runtime-api-server.js';
export type { ErrorDocument, ExtensionEventType, InitErrorRecord, InvocationResult, InvocationStatus, InvokeOptions } from './runtime-api-server.js';
export type { RecordedRequest, RegisteredExtension, ResponseChunk, RestoreErrorRecord, RuntimeApiServer, RuntimeApiServerOptions, ShutdownReason } from './runtime-api-server.js';
export { startFunction, runFunction, DEFAULT_SHUTDOWN_GRACE_MS, type ExitInfo, type FunctionOptions, type LocalFunction } from './function-process.js';
export { startLambdaControlPlane, type CreatedLambdaFunction, type LambdaEnvironmentError, type LambdaFunctionSpec, type LambdaFunctionState, type LambdaControlPlaneOptions, type LambdaControlPlaneStandIn } from './lambda-control-plane.js';
