import { type App, Validations } from 'aws-cdk-lib';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import type { NagPack } from 'cdk-nag';
import type { IConstruct } from 'constructs';
import { beforeAll, describe, expect, it } from 'vitest';
import type { EventJobsStack } from '../../infra/eventjobs-stack';
import { addNagPacks } from '../../infra/nag';
import { createStack, logicalId } from './helpers';

interface Acknowledgement {
  readonly path: string;
  readonly id: string;
  readonly reason: string;
}

/** Every `Validations.of(x).acknowledge(...)` in the tree, read back from construct metadata. */
function acknowledgements(root: IConstruct): Acknowledgement[] {
  const found: Acknowledgement[] = [];
  for (const node of root.node.findAll()) {
    for (const entry of node.node.metadata) {
      if (entry.type !== Validations.ACKNOWLEDGED_RULES_METADATA_KEY) continue;
      for (const [id, reason] of Object.entries(entry.data as Record<string, unknown>)) {
        found.push({
          path: node.node.path,
          id: id.replace(/^annotation::/i, ''),
          reason: String(reason),
        });
      }
    }
  }
  return found;
}

function findings(packs: NagPack[], scope: IConstruct): string[] {
  return packs.flatMap((pack) =>
    pack
      .validateScope(scope)
      .violations.flatMap((v) =>
        v.violatingResources.map((r) => `${v.ruleName} at ${r.constructPath ?? '?'}`),
      ),
  );
}

describe('cdk-nag AwsSolutions and Serverless packs', () => {
  let app: App;
  let stack: EventJobsStack;
  let packs: NagPack[];

  beforeAll(() => {
    ({ app, stack } = createStack());
    packs = addNagPacks(app);
  });

  it('registers both packs', () => {
    expect(packs.map((p) => p.readPackName).sort()).toEqual(['AwsSolutions', 'Serverless']);
  });

  it('report no unacknowledged finding on the stack', () => {
    expect(findings(packs, stack)).toEqual([]);
  });

  it('let the app synthesize with the packs as validation plugins', () => {
    expect(() => app.synth()).not.toThrow();
  });

  it('acknowledge every finding with a written reason', () => {
    const acks = acknowledgements(app);
    expect(acks.length).toBeGreaterThan(0);
    for (const ack of acks) {
      expect(ack.reason.trim().length, `${ack.id} at ${ack.path}`).toBeGreaterThan(20);
    }
  });

  it('acknowledge only the reviewed findings, each on the resource itself', () => {
    const summary = acknowledgements(app)
      .map((a) => `${a.id} @ ${a.path.replace(/^EventJobs\/AsyncJobs\//, '')}`)
      .sort();
    expect(summary).toEqual(
      [
        'AwsSolutions-IAM5[Resource::*] @ CancelJobRole/DefaultPolicy/Resource',
        'AwsSolutions-IAM5[Resource::*] @ CompletionRole/DefaultPolicy/Resource',
        'AwsSolutions-IAM5[Resource::*] @ GetJobRole/DefaultPolicy/Resource',
        'AwsSolutions-IAM5[Resource::*] @ ListJobsRole/DefaultPolicy/Resource',
        'AwsSolutions-IAM5[Resource::*] @ SignalJobRole/DefaultPolicy/Resource',
        'AwsSolutions-IAM5[Resource::*] @ StartJobRole/DefaultPolicy/Resource',
        'AwsSolutions-IAM5[Resource::*] @ SweeperRole/DefaultPolicy/Resource',
        'AwsSolutions-IAM5[Resource::*] @ WorkerRole/DefaultPolicy/Resource',
        'AwsSolutions-SMG4 @ WebhookSecret/Resource',
        'AwsSolutions-SQS3 @ RuleDeadLetterQueue/Resource',
        'Serverless-LambdaDLQ @ CancelJob/Resource',
        'Serverless-LambdaDLQ @ GetJob/Resource',
        'Serverless-LambdaDLQ @ ListJobs/Resource',
        'Serverless-LambdaDLQ @ SignalJob/Resource',
        'Serverless-LambdaDLQ @ StartJob/Resource',
        'Serverless-LambdaDLQ @ Sweeper/Resource',
        'Serverless-LambdaDLQ @ Worker/Resource',
        'Serverless-LambdaAsyncFailureDestination @ Sweeper/EventInvokeConfig/Resource',
        'Serverless-EventBusDLQ @ SweepRule/Resource',
        'Serverless-SQSRedrivePolicy @ CompletionDeadLetterQueue/Resource',
        'Serverless-SQSRedrivePolicy @ RuleDeadLetterQueue/Resource',
        // The live stream (infra/job-stream.ts).
        'AwsSolutions-APIG1 @ Stream/Stage/Resource',
        'Serverless-APIGWAccessLogging @ Stream/Stage/Resource',
        'AwsSolutions-APIG4 @ Stream/Api/$default-Route/Resource',
        'AwsSolutions-APIG4 @ Stream/Api/$disconnect-Route/Resource',
        'AwsSolutions-APIG4 @ Stream/Api/subscribe-Route/Resource',
        'AwsSolutions-IAM5[Resource::*] @ Stream/ConnectionRole/DefaultPolicy/Resource',
        'AwsSolutions-IAM5[Resource::*] @ Stream/RecorderRole/DefaultPolicy/Resource',
        ...['Connection', 'Recorder'].flatMap((fn) =>
          ['DELETE', 'POST'].map(
            (method) =>
              `AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:execute-api:<AWS::Region>:<AWS::AccountId>:<AsyncJobsStreamApi9BA29FF5>/live/${method}/@connections/*] @ Stream/${fn}Role/DefaultPolicy/Resource`,
          ),
        ),
        'AwsSolutions-SQS3 @ Stream/DeadLetterQueue/Resource',
        'Serverless-LambdaDLQ @ Stream/Connection/Resource',
        // Sleep timers (infra/timers.ts): the worker's schedules in its own timer group.
        `AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:scheduler:<AWS::Region>:<AWS::AccountId>:schedule/<${logicalId(stack.jobs.node.findChild('TimerGroup'))}>/*] @ WorkerResumePolicy/Resource`,
        'Serverless-SQSRedrivePolicy @ Stream/DeadLetterQueue/Resource',
        // Triggers and schedules (infra/starters.ts): the starter function and its dead-letter queue.
        'AwsSolutions-IAM5[Resource::*] @ StartFromEventRole/DefaultPolicy/Resource',
        'Serverless-LambdaDLQ @ StartFromEvent/Resource',
        'AwsSolutions-SQS3 @ StartDeadLetterQueue/Resource',
        'Serverless-SQSRedrivePolicy @ StartDeadLetterQueue/Resource',
      ].sort(),
    );
  });
});

describe('the nag check itself', () => {
  it('reports and fails synthesis on a finding nobody acknowledged', () => {
    const { app, stack } = createStack();
    const packs = addNagPacks(app);
    // A queue without TLS enforcement, encryption settings aside: AwsSolutions-SQS4.
    new sqs.Queue(stack, 'Unreviewed', { enforceSSL: false });

    expect(findings(packs, stack)).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^AwsSolutions-SQS4 at EventJobs\/Unreviewed/),
      ]),
    );
    expect(() => app.synth()).toThrow(/AwsSolutions-SQS4/);
  });
});
