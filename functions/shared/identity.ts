import type { APIGatewayProxyEventV2WithIAMAuthorizer } from 'aws-lambda';
import { ForbiddenError } from '../../core/errors';

// arn:aws:sts::123456789012:assumed-role/RoleName/session-name
const ASSUMED_ROLE = /^(arn:[^:]+:sts::\d{12}:assumed-role\/[^/]+)\/.+$/;

/**
 * The IAM identity that owns a caller's jobs, from the IAM authorizer's context.
 * Sessions of one assumed role are one owner: a role's session names change
 * with every credential refresh (a Lambda's, a CI runner's), its jobs must not.
 */
export function ownerOf(event: APIGatewayProxyEventV2WithIAMAuthorizer): string {
  const arn = event.requestContext.authorizer?.iam?.userArn;
  if (typeof arn !== 'string' || arn.length === 0) {
    throw new ForbiddenError('The request carries no IAM identity');
  }
  const role = ASSUMED_ROLE.exec(arn);
  return role?.[1] ?? arn;
}
