/**
 * The fair-share limits as the construct passes them to the functions, and
 * the table's slot store built on them.
 */
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { EnvVar, intEnv } from '../../core/config';
import { ConfigError } from '../../core/errors';
import type { ConcurrencyLimits } from '../../core/limits';
import { SlotStore } from './slots';

/**
 * The limits, or undefined when the construct set none (`OWNER_CONCURRENCY`
 * unset): then nothing is limited or queued, as before limits existed.
 */
export function limitsFromEnv(env: NodeJS.ProcessEnv = process.env): ConcurrencyLimits | undefined {
  if (env[EnvVar.OwnerConcurrency] === undefined) return undefined;
  const perOwner = intEnv(EnvVar.OwnerConcurrency, 1, env);
  const maxQueuedPerOwner = intEnv(EnvVar.MaxQueuedPerOwner, 1, env);
  const total =
    env[EnvVar.TotalConcurrency] === undefined
      ? undefined
      : intEnv(EnvVar.TotalConcurrency, 1, env);
  return {
    perOwner,
    maxQueuedPerOwner,
    ...(total !== undefined ? { total } : {}),
    perType: typeLimits(env),
  };
}

function typeLimits(env: NodeJS.ProcessEnv): Record<string, number> {
  const raw = env[EnvVar.TypeConcurrency];
  if (raw === undefined || raw === '') return {};
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw);
  } catch (error) {
    throw new ConfigError(`Environment variable ${EnvVar.TypeConcurrency} is not JSON`, {
      cause: error,
    });
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw new ConfigError(`Environment variable ${EnvVar.TypeConcurrency} must be a JSON object`);
  }
  const limits: Record<string, number> = {};
  for (const [type, limit] of Object.entries(parsed)) {
    if (!Number.isSafeInteger(limit) || (limit as number) < 1) {
      throw new ConfigError(
        `${EnvVar.TypeConcurrency}: the limit of "${type}" must be a whole number, at least 1`,
      );
    }
    Object.defineProperty(limits, type, { value: limit, enumerable: true });
  }
  return limits;
}

/** The slot store for the functions' table, when limits are set. */
export function slotStoreFromEnv(
  client: DynamoDBClient,
  tableName: string,
  env: NodeJS.ProcessEnv = process.env,
): SlotStore | undefined {
  const limits = limitsFromEnv(env);
  return limits ? new SlotStore(client, tableName, limits) : undefined;
}
