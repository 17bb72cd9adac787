/**
 * Secrets Manager, as much as a function reading its secrets needs: the
 * template's `AWS::SecretsManager::Secret` resources, answered by
 * `GetSecretValue` and `DescribeSecret` over the JSON 1.1 protocol, by ARN or
 * by name.
 *
 * A secret's value is a local setting: given to the local cloud (`--secret
 * LogicalId=VALUE`, or the `secretValues` option), else the template's
 * `SecretString`, else generated once as `GenerateSecretString` describes and
 * kept in the secrets file (`.eventjobs/secrets.json` by default), so it stays
 * the same across restarts and tools can read it.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import {
  AwsJsonError,
  type AwsJsonProtocol,
  type AwsJsonService,
  type Json,
  refuseUnlessPost,
  serveAwsJson,
} from '../aws-json';
import type { AwsRequest, AwsResponse, AwsService, SecretSpec } from '../contracts';

export interface LocalSecretsManagerOptions {
  readonly secrets: readonly SecretSpec[];
  /** Values given as local settings, by logical id or name. */
  readonly values?: Readonly<Record<string, string>>;
  /** Where generated values are kept; in memory only when undefined. */
  readonly secretsFile?: string;
}

class SecretsManagerError extends AwsJsonError {}

/** Secrets Manager's dialect: JSON 1.1, and the error message spelled `Message`. */
const SECRETS_MANAGER_PROTOCOL: AwsJsonProtocol = {
  version: '1.1',
  targetPrefix: 'secretsmanager.',
  errors: { messageMember: 'Message', typeHeader: true },
};

export class LocalSecretsManager implements AwsService {
  readonly signingNames: readonly string[] = ['secretsmanager'];
  readonly #values = new Map<string, string>();
  readonly #created = new Date();
  readonly #versionId = randomUUID();

  readonly #options: LocalSecretsManagerOptions;

  constructor(options: LocalSecretsManagerOptions) {
    this.#options = options;
    const stored = readSecretsFile(options.secretsFile);
    let generated = false;
    for (const secret of options.secrets) {
      const given = options.values?.[secret.logicalId] ?? options.values?.[secret.name];
      let value = given ?? secret.secretString ?? stored[secret.logicalId];
      if (value === undefined) {
        value = generateSecret(secret.generate);
        stored[secret.logicalId] = value;
        generated = true;
      }
      this.#values.set(secret.logicalId, value);
    }
    if (generated && options.secretsFile) {
      mkdirSync(dirname(options.secretsFile), { recursive: true });
      writeFileSync(options.secretsFile, `${JSON.stringify(stored, null, 2)}\n`, { mode: 0o600 });
    }
  }

  readonly #calls = new Map<string, number>();

  /** API calls so far, per operation (plain JSON). */
  usage(): { readonly calls: Readonly<Record<string, number>> } {
    return { calls: Object.fromEntries(this.#calls) };
  }

  /** The value of each secret, by logical id. */
  values(): Record<string, string> {
    return Object.fromEntries(this.#values);
  }

  handle(request: AwsRequest): Promise<AwsResponse> {
    return serveAwsJson(this.#json, request);
  }

  readonly #json: AwsJsonService = {
    protocol: SECRETS_MANAGER_PROTOCOL,
    operations: {
      GetSecretValue: (input) => this.#getSecretValue(input),
      DescribeSecret: (input) => this.#describeSecret(input),
    },
    serialization: {
      invalidJson: 'The request body is not valid JSON',
      notAnObject: 'The request body is not a JSON object',
    },
    refuse: refuseUnlessPost(
      () =>
        new SecretsManagerError(
          'InvalidRequestException',
          'The local Secrets Manager speaks the JSON protocol only (X-Amz-Target: secretsmanager.<Operation>).',
        ),
    ),
    received: (operation) => this.#calls.set(operation, (this.#calls.get(operation) ?? 0) + 1),
    unknownOperation: (operation) =>
      new SecretsManagerError(
        'InvalidRequestException',
        `The local Secrets Manager does not emulate ${operation}`,
      ),
    internalError: (error) => new SecretsManagerError('InternalServiceError', String(error), 500),
  };

  #getSecretValue(input: Json): Json {
    const secret = this.#find(input.SecretId);
    if (input.VersionStage !== undefined && input.VersionStage !== 'AWSCURRENT') {
      throw new SecretsManagerError(
        'ResourceNotFoundException',
        "Secrets Manager can't find the specified secret value for staging label: " +
          String(input.VersionStage),
      );
    }
    return {
      ARN: secret.arn,
      Name: secret.name,
      VersionId: this.#versionId,
      SecretString: this.#values.get(secret.logicalId),
      VersionStages: ['AWSCURRENT'],
      CreatedDate: this.#created.getTime() / 1000,
    };
  }

  #describeSecret(input: Json): Json {
    const secret = this.#find(input.SecretId);
    return {
      ARN: secret.arn,
      Name: secret.name,
      CreatedDate: this.#created.getTime() / 1000,
      VersionIdsToStages: { [this.#versionId]: ['AWSCURRENT'] },
    };
  }

  #find(id: unknown): SecretSpec {
    if (typeof id !== 'string' || id.length === 0 || id.length > 2048) {
      throw new SecretsManagerError(
        'InvalidParameterException',
        'SecretId must be a string of 1 to 2048 characters',
      );
    }
    const secret = this.#options.secrets.find(
      (s) => s.arn === id || s.name === id || partialArnMatches(s.arn, id),
    );
    if (!secret) {
      throw new SecretsManagerError(
        'ResourceNotFoundException',
        "Secrets Manager can't find the specified secret.",
      );
    }
    return secret;
  }
}

/** A partial ARN leaves out the six random characters AWS appends to the name. */
function partialArnMatches(arn: string, id: string): boolean {
  return id.startsWith('arn:') && arn.length === id.length + 7 && arn.startsWith(`${id}-`);
}

function readSecretsFile(path: string | undefined): Record<string, string> {
  if (!path) return {};
  try {
    const value: unknown = JSON.parse(readFileSync(path, 'utf8'));
    if (typeof value !== 'object' || value === null) return {};
    return Object.fromEntries(
      Object.entries(value).filter(
        (entry): entry is [string, string] => typeof entry[1] === 'string',
      ),
    );
  } catch {
    return {};
  }
}

const LETTERS = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';
const PUNCTUATION = '!"#$%&\'()*+,-./:;<=>?@[\\]^_`{|}~';

/** A random value as `GenerateSecretString` would make it (default: 32 characters). */
function generateSecret(generate: SecretSpec['generate']): string {
  const exclude = new Set(generate?.excludeCharacters ?? '');
  const alphabet = [...(generate?.excludePunctuation ? LETTERS : LETTERS + PUNCTUATION)].filter(
    (c) => !exclude.has(c),
  );
  const length = generate?.passwordLength ?? 32;
  const bytes = randomBytes(length);
  return Array.from(bytes, (b) => alphabet[b % alphabet.length]).join('');
}
