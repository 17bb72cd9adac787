import { App } from 'aws-cdk-lib';
import { exampleScheduleFromContext, jobsFromContext } from './context';
import { EventJobsStack } from './eventjobs-stack';
import { addNagPacks } from './nag';

/** The CDK app that `cdk synth` / `cdk deploy` run (see cdk.json). */
const app = new App();
new EventJobsStack(app, 'EventJobs', {
  description: 'eventjobs: event-based asynchronous job management',
  jobs: jobsFromContext(app),
  ...exampleScheduleFromContext(app),
});
addNagPacks(app);
app.synth();
