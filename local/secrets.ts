import { randomUUID } from 'node:crypto';
import { LocalApiError } from './step-functions.js';
import type { LocalSecretDefinition } from './templates.js';

interface SecretVersion {
  versionId: string;
  secretString: string;
  stages: Set<string>;
  createdAt: number;
}

interface StoredSecret {
  definition: LocalSecretDefinition;
  versions: SecretVersion[];
}

/**
 * The template's Secrets Manager secrets, answering GetSecretValue and PutSecretValue as the service does
 * (by name or ARN; AWSCURRENT, AWSPREVIOUS), so handlers read them through the real SDK and Powertools.
 */
export class LocalSecrets {
  private readonly secrets: StoredSecret[];

  constructor(
    definitions: readonly LocalSecretDefinition[],
    private readonly now: () => number = Date.now,
  ) {
    this.secrets = definitions.map((definition) => ({
      definition,
      versions: [
        {
          versionId: randomUUID(),
          secretString: definition.secretString,
          stages: new Set(['AWSCURRENT']),
          createdAt: now(),
        },
      ],
    }));
  }

  getSecretValue(body: Record<string, unknown>) {
    const secret = this.find(body.SecretId);
    const stage = typeof body.VersionStage === 'string' ? body.VersionStage : undefined;
    const versionId = typeof body.VersionId === 'string' ? body.VersionId : undefined;
    const version = secret.versions.find((candidate) =>
      versionId ? candidate.versionId === versionId : candidate.stages.has(stage ?? 'AWSCURRENT'),
    );
    if (!version)
      throw new LocalApiError(
        'ResourceNotFoundException',
        "Secrets Manager can't find the specified secret value for the given version or staging label.",
      );
    return { ...this.describe(secret, version), SecretString: version.secretString };
  }

  /** A new version becomes AWSCURRENT, the current one AWSPREVIOUS; the same ClientRequestToken twice is one version. */
  putSecretValue(body: Record<string, unknown>) {
    const secret = this.find(body.SecretId);
    if (typeof body.SecretString !== 'string' || body.SecretString === '')
      throw new LocalApiError('InvalidParameterException', 'You must provide SecretString.');
    const versionId = typeof body.ClientRequestToken === 'string' ? body.ClientRequestToken : randomUUID();
    const existing = secret.versions.find((version) => version.versionId === versionId);
    if (existing) {
      if (existing.secretString !== body.SecretString)
        throw new LocalApiError(
          'ResourceExistsException',
          'A version with this ClientRequestToken already exists with a different value.',
        );
      return this.describe(secret, existing);
    }
    for (const version of secret.versions) version.stages.delete('AWSPREVIOUS');
    for (const version of secret.versions)
      if (version.stages.delete('AWSCURRENT')) version.stages.add('AWSPREVIOUS');
    const version = {
      versionId,
      secretString: body.SecretString,
      stages: new Set(['AWSCURRENT']),
      createdAt: this.now(),
    };
    secret.versions.push(version);
    return this.describe(secret, version);
  }

  private find(secretId: unknown): StoredSecret {
    const secret = this.secrets.find(
      ({ definition }) => secretId === definition.name || secretId === definition.arn,
    );
    if (!secret)
      throw new LocalApiError(
        'ResourceNotFoundException',
        "Secrets Manager can't find the specified secret.",
      );
    return secret;
  }

  private describe(secret: StoredSecret, version: SecretVersion) {
    return {
      ARN: secret.definition.arn,
      Name: secret.definition.name,
      VersionId: version.versionId,
      VersionStages: [...version.stages],
      CreatedDate: version.createdAt / 1000,
    };
  }
}
