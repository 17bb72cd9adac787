export { SqsError } from './errors';
export { LocalSqs, type LocalSqsOptions, type QueueContents } from './sqs';
