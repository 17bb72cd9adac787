export { LocalSecretsManager, type LocalSecretsManagerOptions } from './secretsmanager';
