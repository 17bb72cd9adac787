/**
 * Moved to `client/http.ts`. These re-exports keep `demo/` and `bench/`, which
 * build on the signed client, compiling until they import it from there.
 */
export {
  type ApiRequest,
  type FetchFn,
  jobPath,
  SignedHttp as ApiClient,
} from '../client/http';
