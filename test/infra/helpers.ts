import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { App, type CfnElement, type Stack } from 'aws-cdk-lib';
import type { Template } from 'aws-cdk-lib/assertions';
import type { IConstruct } from 'constructs';
import { EventJobsStack, type EventJobsStackProps } from '../../infra/eventjobs-stack';

export const PROJECT_ROOT = fileURLToPath(new URL('../..', import.meta.url));

/** The context (feature flags) of cdk.json, so tests synthesize what `cdk synth` does. */
export function cdkJsonContext(): Record<string, unknown> {
  const cdkJson = JSON.parse(readFileSync(path.join(PROJECT_ROOT, 'cdk.json'), 'utf8')) as {
    context?: Record<string, unknown>;
  };
  return cdkJson.context ?? {};
}

export interface TestAppOptions {
  /** Bundle the functions with esbuild (slow); otherwise the assets are placeholders. */
  readonly bundle?: boolean;
}

export function createApp(options: TestAppOptions = {}): App {
  const context: Record<string, unknown> = { ...cdkJsonContext() };
  // An empty list of stacks to bundle skips esbuild; templates are otherwise identical.
  if (!options.bundle) context['aws:cdk:bundling-stacks'] = [];
  return new App({ context });
}

export function createStack(
  props: EventJobsStackProps = {},
  options: TestAppOptions = {},
): { app: App; stack: EventJobsStack } {
  const app = createApp(options);
  const stack = new EventJobsStack(app, 'EventJobs', props);
  return { app, stack };
}

/** The logical ID CloudFormation knows a construct's resource by (derived, never hard-coded). */
export function logicalId(construct: IConstruct): string {
  const element = (construct.node.defaultChild ?? construct) as CfnElement;
  const stack: Stack = element.stack;
  return stack.getLogicalId(element);
}

export const ref = (construct: IConstruct) => ({ Ref: logicalId(construct) });
export const arnOf = (construct: IConstruct) => ({ 'Fn::GetAtt': [logicalId(construct), 'Arn'] });

export interface Statement {
  readonly Effect: string;
  readonly Action: string[];
  readonly Resource: unknown[];
  readonly Condition?: unknown;
}

/** Every statement of the IAM policies attached to the role with this logical ID. */
export function statementsOfRole(template: Template, roleId: string): Statement[] {
  const policies = template.findResources('AWS::IAM::Policy');
  const statements: Statement[] = [];
  for (const policy of Object.values(policies)) {
    const roles = (policy.Properties?.Roles ?? []) as unknown[];
    if (!roles.some((role) => JSON.stringify(role) === JSON.stringify({ Ref: roleId }))) continue;
    const raw = (policy.Properties?.PolicyDocument?.Statement ?? []) as Array<
      Record<string, unknown>
    >;
    for (const s of raw) {
      statements.push({
        Effect: String(s.Effect),
        Action: ([] as string[]).concat(s.Action as string | string[]),
        Resource: ([] as unknown[]).concat(s.Resource),
        ...(s.Condition !== undefined ? { Condition: s.Condition } : {}),
      });
    }
  }
  return statements;
}

/** The ARN of every schedule in an EventBridge Scheduler group (`schedule/<group>/*`), as synthesized. */
export const schedulesIn = (group: IConstruct) => ({
  'Fn::Join': [
    '',
    [
      'arn:',
      { Ref: 'AWS::Partition' },
      ':scheduler:',
      { Ref: 'AWS::Region' },
      ':',
      { Ref: 'AWS::AccountId' },
      ':schedule/',
      ref(group),
      '/*',
    ],
  ],
});

/** A construct's child of the given id, checked to be of the given class. */
export function childOf<T>(
  parent: IConstruct,
  id: string,
  type: abstract new (...args: never[]) => T,
): T {
  const child = parent.node.findChild(id);
  if (!(child instanceof type)) throw new Error(`${parent.node.path}/${id} is not a ${type.name}`);
  return child;
}
