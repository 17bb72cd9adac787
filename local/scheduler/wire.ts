/**
 * EventBridge Scheduler's wire API (restJson1, signing name `scheduler`), as
 * `@aws-sdk/client-scheduler` speaks it:
 *
 * - `POST /schedules/{Name}` CreateSchedule, `PUT` UpdateSchedule (JSON body,
 *   `GroupName` in it);
 * - `GET /schedules/{Name}?groupName=` GetSchedule,
 *   `DELETE /schedules/{Name}?groupName=&clientToken=` DeleteSchedule;
 * - `GET /schedules?ScheduleGroup=&NamePrefix=&State=&MaxResults=&NextToken=` ListSchedules;
 * - `GET /schedule-groups/{Name}` GetScheduleGroup.
 *
 * Timestamps are epoch seconds. Errors carry their code in `x-amzn-errortype`
 * and `{"Message": ...}`.
 */
import { randomUUID } from 'node:crypto';
import { AwsJsonError } from '../aws-json';
import type { AwsRequest, AwsResponse } from '../contracts';
import { constraintMessage, SchedulerError, SchedulerValidationError } from './errors';
import { checkName, readDefinition, type ScheduleState } from './input';
import type { LocalScheduler } from './scheduler';
import type { StoredSchedule } from './store';

const SCHEDULE = /^\/schedules\/([^/]+)$/;
const GROUP = /^\/schedule-groups\/([^/]+)$/;

export async function serveScheduler(
  scheduler: LocalScheduler,
  request: AwsRequest,
): Promise<AwsResponse> {
  try {
    return json(route(scheduler, request));
  } catch (error) {
    if (error instanceof AwsJsonError) return errorAnswer(error);
    return errorAnswer(new SchedulerError('InternalServerException', String(error), 500));
  }
}

function route(scheduler: LocalScheduler, request: AwsRequest): unknown {
  const { method, query } = request;
  const path = request.path.replace(/\/+$/, '') || '/';
  const schedule = SCHEDULE.exec(path);
  if (schedule) {
    const name = decodeName(schedule[1] ?? '');
    const groupName = query.get('groupName') ?? 'default';
    switch (method) {
      case 'POST': {
        const created = scheduler.create(readDefinition(name, bodyOf(request)));
        return { ScheduleArn: scheduler.scheduleArn(created) };
      }
      case 'PUT': {
        const updated = scheduler.update(readDefinition(name, bodyOf(request)));
        return { ScheduleArn: scheduler.scheduleArn(updated) };
      }
      case 'GET':
        return scheduleOutput(scheduler, scheduler.get(name, checkName(groupName, 'groupName')));
      case 'DELETE':
        scheduler.delete(name, checkName(groupName, 'groupName'));
        return {};
    }
  }
  if (path === '/schedules' && method === 'GET') return listSchedules(scheduler, query);
  const group = GROUP.exec(path);
  if (group && method === 'GET') {
    const found = scheduler.group(decodeName(group[1] ?? ''));
    const created = scheduler.groupCreationDate() / 1000;
    return {
      Arn: found.arn,
      Name: found.name,
      State: 'ACTIVE',
      CreationDate: created,
      LastModificationDate: created,
    };
  }
  throw new SchedulerError(
    'UnknownOperationException',
    `The local EventBridge Scheduler does not emulate ${method} ${path}`,
    404,
  );
}

function listSchedules(scheduler: LocalScheduler, query: URLSearchParams): unknown {
  const groupName = query.get('ScheduleGroup') ?? undefined;
  const state = query.get('State') ?? undefined;
  if (state !== undefined && state !== 'ENABLED' && state !== 'DISABLED') {
    throw new SchedulerValidationError(
      constraintMessage(state, 'state', 'Member must satisfy enum value set: [ENABLED, DISABLED]'),
    );
  }
  const maxResults = Number(query.get('MaxResults') ?? '100');
  if (!Number.isInteger(maxResults) || maxResults < 1 || maxResults > 100) {
    throw new SchedulerValidationError(
      constraintMessage(
        query.get('MaxResults'),
        'maxResults',
        'Member must have value between 1 and 100',
      ),
    );
  }
  const all = scheduler.list({
    groupName: groupName === undefined ? undefined : checkName(groupName, 'groupName'),
    namePrefix: query.get('NamePrefix') ?? undefined,
    state: state as ScheduleState | undefined,
  });
  // The token is the last key returned: a page stays right when schedules come and go.
  const token = query.get('NextToken');
  const after = token === null ? undefined : Buffer.from(token, 'base64url').toString('utf8');
  const rest = after === undefined ? all : all.filter((s) => `${s.groupName}/${s.name}` > after);
  const page = rest.slice(0, maxResults);
  const last = page.at(-1);
  return {
    Schedules: page.map((s) => ({
      Arn: scheduler.scheduleArn(s),
      Name: s.name,
      GroupName: s.groupName,
      State: s.state,
      CreationDate: s.creationDate / 1000,
      LastModificationDate: s.lastModificationDate / 1000,
      Target: { Arn: s.target.Arn },
    })),
    ...(rest.length > page.length && last
      ? { NextToken: Buffer.from(`${last.groupName}/${last.name}`).toString('base64url') }
      : {}),
  };
}

function scheduleOutput(scheduler: LocalScheduler, s: StoredSchedule): unknown {
  return {
    Arn: scheduler.scheduleArn(s),
    GroupName: s.groupName,
    Name: s.name,
    ScheduleExpression: s.expression,
    ScheduleExpressionTimezone: s.timezone,
    Description: s.description,
    StartDate: s.startDate === undefined ? undefined : s.startDate / 1000,
    EndDate: s.endDate === undefined ? undefined : s.endDate / 1000,
    State: s.state,
    CreationDate: s.creationDate / 1000,
    LastModificationDate: s.lastModificationDate / 1000,
    KmsKeyArn: s.kmsKeyArn,
    Target: s.target,
    FlexibleTimeWindow: s.flexibleTimeWindow,
    ActionAfterCompletion: s.actionAfterCompletion,
  };
}

function bodyOf(request: AwsRequest): Readonly<Record<string, unknown>> {
  const text = request.body.toString('utf8');
  if (text.trim() === '') return {};
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new SchedulerValidationError('The request body is not valid JSON.');
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new SchedulerValidationError('The request body is not a JSON object.');
  }
  return value as Readonly<Record<string, unknown>>;
}

function decodeName(raw: string): string {
  try {
    return decodeURIComponent(raw);
  } catch {
    throw new SchedulerValidationError(
      constraintMessage(raw, 'name', 'Member must be valid UTF-8'),
    );
  }
}

function json(body: unknown): AwsResponse {
  return {
    status: 200,
    headers: { 'content-type': 'application/json', 'x-amzn-requestid': randomUUID() },
    body: JSON.stringify(body),
  };
}

function errorAnswer(error: AwsJsonError): AwsResponse {
  return {
    status: error.status,
    headers: {
      'content-type': 'application/json',
      'x-amzn-requestid': randomUUID(),
      'x-amzn-errortype': error.code,
    },
    body: JSON.stringify({ Message: error.message }),
  };
}
