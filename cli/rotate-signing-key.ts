import { randomUUID } from 'node:crypto';
import {
  GetSecretValueCommand,
  PutSecretValueCommand,
  SecretsManagerClient,
} from '@aws-sdk/client-secrets-manager';
import type { Command } from 'commander';
import { UserFacingError } from '../lambdas/core/errors.js';
import { parseSigningKeys, rotatedKeys } from '../lambdas/core/signing-keys.js';
import { SIGNING_KEYS_MAX_AGE_SECONDS } from '../lambdas/shared/signing-keys.js';
import { APPROVAL_SIGNING_SECRET_NAME } from '../lib/platform-names.js';
import type { CliIo } from './context.js';

/**
 * Puts a new version of the signing secret: a fresh key becomes `current`, the replaced one `previous`
 * (links emailed with it still verify), and the one before is dropped (its links are refused).
 * Never prints a key.
 */
export async function rotateSigningKey(
  secretId: string,
  client: SecretsManagerClient = new SecretsManagerClient({}),
): Promise<{ versionId: string }> {
  const keys = parseSigningKeys(await currentValue(client, secretId));
  const put = await client.send(
    new PutSecretValueCommand({
      SecretId: secretId,
      SecretString: JSON.stringify(rotatedKeys(keys)),
      // One version however often the SDK retries the call.
      ClientRequestToken: randomUUID(),
    }),
  );
  return { versionId: put.VersionId ?? '' };
}

async function currentValue(client: SecretsManagerClient, secretId: string): Promise<unknown> {
  let text: string | undefined;
  try {
    text = (await client.send(new GetSecretValueCommand({ SecretId: secretId }))).SecretString;
  } catch (error) {
    throw new UserFacingError(`cannot read the secret ${secretId}: ${(error as Error).message}`);
  }
  try {
    return JSON.parse(text ?? '');
  } catch {
    throw new UserFacingError(
      `the secret ${secretId} does not hold JSON {"current": ..., "previous": ...}; nothing was changed`,
    );
  }
}

export function registerRotateSigningKey(program: Command, io: CliIo): void {
  program
    .command('rotate-signing-key')
    .description(
      'Rotate the approval signing key: a new key signs, the replaced one still verifies links already emailed',
    )
    .option('--secret-id <name-or-arn>', 'the signing secret', APPROVAL_SIGNING_SECRET_NAME)
    .action(async (options: { secretId: string }) => {
      let rotated: { versionId: string };
      try {
        rotated = await rotateSigningKey(options.secretId);
      } catch (error) {
        if (error instanceof UserFacingError) throw error;
        throw new UserFacingError(`rotating ${options.secretId} failed: ${(error as Error).message}`);
      }
      io.stdout(
        `Rotated ${options.secretId} (version ${rotated.versionId}). New links are signed with the new key within ${SIGNING_KEYS_MAX_AGE_SECONDS / 60} minutes; links signed with the replaced key still work; links from before the previous rotation no longer do.\n`,
      );
    });
}
