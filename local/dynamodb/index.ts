export { LocalDynamoDb, type LocalDynamoDbOptions } from './dynamodb';
export { DynamoDbSetupError, TableMismatchError } from './errors';
