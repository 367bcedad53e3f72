export { AwsServiceError, type AwsJsonStandIn, type FaultKind, type FaultSpec, type RecordedCall } from './aws-json-server.js';
export { startSecretsManager, type CreatedSecret, type SecretsManagerOptions, type SecretsManagerStandIn } from './secrets-manager.js';
export { startKms, type CreatedKey, type EncryptionContext, type KmsOptions, type KmsStandIn } from './kms.js';
