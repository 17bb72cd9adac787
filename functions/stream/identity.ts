import type {
  APIGatewayEventWebsocketRequestContextV2,
  APIGatewayProxyEventV2WithIAMAuthorizer,
  APIGatewayProxyWebsocketEventV2WithRequestContext,
} from 'aws-lambda';
import { ownerOf } from '../shared/identity';

/**
 * The caller identity API Gateway adds to a WebSocket request once `AWS_IAM`
 * authorization has passed (on `$connect`; later messages carry only `sourceIp`).
 * `@types/aws-lambda` leaves it out of the WebSocket context.
 */
export interface WebSocketIdentity {
  readonly userArn?: string | null;
  readonly caller?: string | null;
  readonly accountId?: string | null;
  readonly sourceIp?: string;
}

export type WebSocketEvent = APIGatewayProxyWebsocketEventV2WithRequestContext<
  APIGatewayEventWebsocketRequestContextV2 & { readonly identity?: WebSocketIdentity }
>;

/**
 * The owner of a `$connect` request's jobs, derived exactly as the HTTP API's
 * (`functions/shared/identity.ts`, with the same owner model), so the stream
 * finds the jobs its caller started over HTTP. Throws `ForbiddenError`
 * when the request carries no IAM identity.
 */
export function connectionOwner(event: WebSocketEvent): string {
  const userArn = event.requestContext.identity?.userArn ?? undefined;
  // ownerOf reads only requestContext.authorizer.iam.userArn; the rest of the HTTP
  // event has no WebSocket counterpart.
  const asHttp = { requestContext: { authorizer: { iam: { userArn } } } };
  return ownerOf(asHttp as unknown as APIGatewayProxyEventV2WithIAMAuthorizer);
}
