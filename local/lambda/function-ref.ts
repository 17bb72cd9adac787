/**
 * The ways the Invoke API lets a caller name a function: `my-function`,
 * `my-function:$LATEST`, `123456789012:function:my-function` (partial ARN) and
 * `arn:aws:lambda:us-east-1:123456789012:function:my-function[:qualifier]`.
 */

export const LATEST = '$LATEST';

export interface FunctionRef {
  readonly name: string;
  /** A version or alias; only `$LATEST` exists locally. */
  readonly qualifier?: string;
  readonly accountId?: string;
  readonly region?: string;
  readonly partition?: string;
}

const NAME = /^[a-zA-Z0-9-_]{1,140}$/;
const QUALIFIER = /^(\$LATEST|[a-zA-Z0-9-_]{1,128})$/;
const PARTIAL_ARN = /^(\d{12}):function:([^:]+)(?::([^:]+))?$/;

/** Parses a function reference; undefined when it is not one of the accepted forms. */
export function parseFunctionRef(ref: string): FunctionRef | undefined {
  let parsed: FunctionRef | undefined;
  if (ref.startsWith('arn:')) {
    const parts = ref.split(':');
    const [, partition, service, region, accountId, resourceType, name, qualifier] = parts;
    if (parts.length > 8 || service !== 'lambda' || resourceType !== 'function' || !name) {
      return undefined;
    }
    parsed = { name, qualifier, accountId, region, partition };
  } else {
    const partial = PARTIAL_ARN.exec(ref);
    if (partial) {
      const [, accountId, name = '', qualifier] = partial;
      parsed = { name, qualifier, accountId };
    } else {
      const [name = '', qualifier, ...rest] = ref.split(':');
      if (rest.length > 0) return undefined;
      parsed = { name, qualifier };
    }
  }
  if (!NAME.test(parsed.name)) return undefined;
  if (parsed.qualifier !== undefined && !QUALIFIER.test(parsed.qualifier)) return undefined;
  return parsed;
}

/** The function's ARN with its qualifier, as AWS names it in errors and records. */
export function qualifiedArn(functionArn: string, qualifier: string = LATEST): string {
  return `${functionArn}:${qualifier}`;
}

/** The ARN's service segment (`events`, `sqs`, `lambda`, `sns`, `s3`), if it is an ARN. */
export function arnService(arn: string): string | undefined {
  const parts = arn.split(':');
  return parts[0] === 'arn' && parts.length >= 6 ? parts[2] : undefined;
}
