import { GetCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import * as z from 'zod';
import { versionRank } from '../core/overlap.js';
import { dynamo } from '../shared/clients.js';
import { parseItem, tableName, writeIf } from './table.js';

// One item per customer across releases: which release's deployment of it is in flight now, and the newest
// version any release deployed to it. Its conditional writes make "never two at once" and "never a
// downgrade" hold under races: of two releases claiming the customer at once, exactly one gets it.
//   DEPLOYMENT#<customerId> / CLAIM   (one partition per customer: claims never contend across customers)

const claimRecord = z.looseObject({
  customerId: z.string(),
  deployingRelease: z.string().optional(),
  deployingSince: z.string().optional(),
  deployedVersion: z.string().optional(),
  deployedRank: z.number().optional(),
  deployedAt: z.string().optional(),
});
export type DeploymentClaim = z.infer<typeof claimRecord>;

const claimKey = (customerId: string) => ({ PK: `DEPLOYMENT#${customerId}`, SK: 'CLAIM' });

export async function getDeploymentClaim(customerId: string): Promise<DeploymentClaim | undefined> {
  const result = await dynamo().send(
    new GetCommand({ ConsistentRead: true, TableName: tableName(), Key: claimKey(customerId) }),
  );
  return result.Item ? parseItem(claimRecord, result.Item) : undefined;
}

/**
 * Claims the customer's deployment for `release`: only while no other release's deployment of it is in
 * flight and no release deployed this version or a newer one to it. Claiming again for the same release
 * succeeds (a retried request). False when the condition did not hold: read the claim to say why.
 */
export async function claimDeployment(customerId: string, release: string, at: string): Promise<boolean> {
  return writeIf(
    new UpdateCommand({
      TableName: tableName(),
      Key: claimKey(customerId),
      UpdateExpression: 'SET customerId = :customer, deployingRelease = :release, deployingSince = :at',
      ConditionExpression:
        '(attribute_not_exists(deployingRelease) OR deployingRelease = :release) AND (attribute_not_exists(deployedRank) OR deployedRank < :rank)',
      ExpressionAttributeValues: {
        ':customer': customerId,
        ':release': release,
        ':at': at,
        ':rank': versionRank(release),
      },
    }),
  );
}

/**
 * Gives back `release`'s claim on the customer (only if it holds it), recording the version as deployed
 * when it was. False when the release did not hold it (given back already, or never taken).
 */
export async function endDeploymentClaim(
  customerId: string,
  release: string,
  deployed?: { at: string },
): Promise<boolean> {
  return writeIf(
    new UpdateCommand({
      TableName: tableName(),
      Key: claimKey(customerId),
      UpdateExpression: deployed
        ? 'REMOVE deployingRelease, deployingSince SET deployedVersion = :release, deployedRank = :rank, deployedAt = :at'
        : 'REMOVE deployingRelease, deployingSince',
      ConditionExpression: 'deployingRelease = :release',
      ExpressionAttributeValues: deployed
        ? { ':release': release, ':rank': versionRank(release), ':at': deployed.at }
        : { ':release': release },
    }),
  );
}
