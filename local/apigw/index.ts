export { renderAccessLog } from './access-log';
export type { HttpApiEventV2, IamAuthorizerContext } from './event';
export {
  type AuthorizableRequest,
  type GatewayRequest,
  HTTP_API_LIMITS,
  type IamAuthorization,
  LocalHttpApi,
  type LocalHttpApiOptions,
  type RunningHttpApi,
  receivedHeaders,
  writeGatewayResponse,
} from './http-api';
export type { GatewayResponse } from './response';
export { isUnsignedRequest, withLocalHint } from './unsigned-hint';
