import type { APIGatewayProxyEventV2WithIAMAuthorizer } from 'aws-lambda';
import { EnvVar } from '../../core/config';
import { ConfigError, ForbiddenError } from '../../core/errors';
import { OWNER_MODELS, type OwnerModel } from '../../core/limits';

export type { OwnerModel };

// arn:aws:sts::123456789012:assumed-role/RoleName/session-name
const ASSUMED_ROLE = /^(arn:[^:]+:sts::\d{12}:assumed-role\/[^/]+)\/.+$/;

/**
 * Who owns a caller's jobs (the construct's `ownerModel`):
 * - `principal`: the IAM user, or the role for every session of an assumed role.
 *   A role's session names change with each credential refresh of a Lambda, a CI
 *   runner or an instance, and its jobs must not; so this is the default.
 * - `session`: an assumed role's session on its own (`.../assumed-role/Role/name`).
 *   For people who sign in through IAM Identity Center, whose sessions of one
 *   permission set's role are named after each person: each gets a job space of
 *   their own, where `principal` would give them all one.
 */

/** The owner model the construct set, read once; `principal` when unset. */
export function ownerModelFromEnv(env: NodeJS.ProcessEnv = process.env): OwnerModel {
  const raw = env[EnvVar.OwnerModel];
  if (raw === undefined || raw === '') return 'principal';
  if (!(OWNER_MODELS as readonly string[]).includes(raw)) {
    throw new ConfigError(
      `Environment variable ${EnvVar.OwnerModel} must be one of ${OWNER_MODELS.join(', ')}, got "${raw}"`,
    );
  }
  return raw as OwnerModel;
}

const configuredModel = ownerModelFromEnv();

/** The IAM identity that owns a caller's jobs, from the IAM authorizer's context. */
export function ownerOf(
  event: APIGatewayProxyEventV2WithIAMAuthorizer,
  model: OwnerModel = configuredModel,
): string {
  const arn = event.requestContext.authorizer?.iam?.userArn;
  if (typeof arn !== 'string' || arn.length === 0) {
    throw new ForbiddenError('The request carries no IAM identity');
  }
  if (model === 'session') return arn;
  const role = ASSUMED_ROLE.exec(arn);
  return role?.[1] ?? arn;
}
