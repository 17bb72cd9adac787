export { renderAccessLog } from './access-log';
export type { HttpApiEventV2, IamAuthorizerContext } from './event';
export {
  type GatewayRequest,
  HTTP_API_LIMITS,
  LocalHttpApi,
  type LocalHttpApiOptions,
  type RunningHttpApi,
} from './http-api';
export type { GatewayResponse } from './response';
export { isUnsignedRequest, withLocalHint } from './unsigned-hint';
