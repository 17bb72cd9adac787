import { describe, expect, it } from 'vitest';
import type { AwsRequest, AwsResponse } from '../../../local/contracts';
import { createEventBridgeService } from '../../../local/eventbridge/wire';
import { LocalSecretsManager } from '../../../local/secretsmanager';
import { LocalSqs } from '../../../local/sqs';

const env = { region: 'us-east-1', accountId: '000000000000', partition: 'aws', timeScale: 1 };

function request(target: string, body: string, method = 'POST'): AwsRequest {
  return {
    method,
    path: '/',
    query: new URLSearchParams(),
    headers: { 'x-amz-target': target },
    body: Buffer.from(body),
  };
}

function read(response: AwsResponse) {
  return {
    status: response.status,
    headers: response.headers ?? {},
    body: JSON.parse(String(response.body)),
  };
}

describe('the AWS JSON protocol, in each service’s dialect', () => {
  it('SQS: JSON 1.0, namespaced __type, the query code in x-amzn-query-error', async () => {
    const sqs = new LocalSqs({ env, queues: [] });
    const answer = read(await sqs.handle(request('AmazonSQS.SendMessage', '{}')));
    expect(answer.status).toBe(400);
    expect(answer.body).toEqual({
      __type: 'com.amazonaws.sqs#MissingParameter',
      message: 'The request must contain the parameter QueueUrl.',
    });
    expect(answer.headers['content-type']).toBe('application/x-amz-json-1.0');
    expect(answer.headers['x-amzn-query-error']).toBe('MissingParameter;Sender');
    expect(answer.headers['x-amzn-requestid']).toBeDefined();
    expect(answer.headers['x-amzn-errortype']).toBeUndefined();
    const notJson = read(await sqs.handle(request('AmazonSQS.ListQueues', '[1]')));
    expect(notJson.body.message).toBe('The request body must be a JSON object.');
    const get = read(await sqs.handle(request('AmazonSQS.ListQueues', '{}', 'GET')));
    expect(get.body.__type).toBe('com.amazonaws.sqs#InvalidAction');
    sqs.close();
  });

  it('Secrets Manager: JSON 1.1, `Message`, x-amzn-errortype, and calls counted before the body is read', async () => {
    const secrets = new LocalSecretsManager({ secrets: [] });
    const answer = read(await secrets.handle(request('secretsmanager.GetSecretValue', 'nope')));
    expect(answer.status).toBe(400);
    expect(answer.body).toEqual({
      __type: 'SerializationException',
      Message: 'The request body is not valid JSON',
    });
    expect(answer.headers['content-type']).toBe('application/x-amz-json-1.1');
    expect(answer.headers['x-amzn-errortype']).toBe('SerializationException');
    expect(answer.headers['x-amzn-requestid']).toBeDefined();
    const unknown = read(await secrets.handle(request('secretsmanager.PutSecretValue', '{}')));
    expect(unknown.body.__type).toBe('InvalidRequestException');
    expect(secrets.usage().calls).toEqual({ GetSecretValue: 1, PutSecretValue: 1 });
  });

  it('EventBridge: JSON 1.1, x-amzn-errortype and no request id on errors; a blank body is {}', async () => {
    const events = createEventBridgeService({
      putEvents: async () => ({ FailedEntryCount: 0, Entries: [] }),
      describeBus: () => undefined,
      listBuses: () => [
        { name: 'default', arn: 'arn:aws:events:us-east-1:000000000000:event-bus/default' },
      ],
      listRules: () => undefined,
    });
    const unknown = read(await events.handle(request('AWSEvents.PutRule', 'not json')));
    expect(unknown.status).toBe(400);
    expect(unknown.body).toEqual({
      __type: 'UnknownOperationException',
      message: 'Operation PutRule is not supported by the local EventBridge.',
    });
    expect(unknown.headers['x-amzn-errortype']).toBe('UnknownOperationException');
    expect(unknown.headers['x-amzn-requestid']).toBeUndefined();
    const listed = read(await events.handle(request('AWSEvents.ListEventBuses', '  ')));
    expect(listed.status).toBe(200);
    expect(listed.headers['content-type']).toBe('application/x-amz-json-1.1');
    expect(listed.body.EventBuses).toHaveLength(1);
  });
});
