/** The CDK app: one stack with the jobs API (`cdk deploy`; `eventjobs dev` runs it locally). */
import { App, CfnOutput, Stack } from 'aws-cdk-lib';
import { AsyncJobs } from 'eventjobs/cdk';

const app = new App();
const stack = new Stack(app, '__STACK_NAME__');
const jobs = new AsyncJobs(stack, 'Jobs', {
  // Every export of this module is a job type.
  jobTypes: { entry: 'src/jobs.ts' },
});

new CfnOutput(stack, 'ApiUrl', { value: jobs.apiUrl });
new CfnOutput(stack, 'StreamUrl', { value: jobs.stream.url });
new CfnOutput(stack, 'TableName', { value: jobs.table.tableName });
app.synth();
