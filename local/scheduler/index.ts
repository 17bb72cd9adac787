export {
  SchedulerConflictError,
  SchedulerError,
  SchedulerNotFoundError,
  SchedulerValidationError,
} from './errors';
export type { ScheduleDefinition, ScheduleTarget } from './input';
export { LocalScheduler, type LocalSchedulerOptions, type ScheduleFilter } from './scheduler';
export type { StoredSchedule } from './store';
