import { resetClients } from '../../../lambdas/shared/clients.js';
import { createTablesFromTemplate, type LocalDynamoDb, startLocalDynamoDb } from '../../../local/dynamodb.js';

// The release table on dynalite, as the template declares it, with the store's clients pointed at it: for
// tests whose racers must really race.

export const TABLE_NAME = 'securewatch-releases';

export async function startReleaseTable(environment: Record<string, string> = {}): Promise<LocalDynamoDb> {
  const database = await startLocalDynamoDb();
  await useReleaseTableAt(database.endpoint, environment);
  return database;
}

/** Creates the release table on the DynamoDB at `endpoint` and points the store's clients at it. */
export async function useReleaseTableAt(
  endpoint: string,
  environment: Record<string, string> = {},
): Promise<void> {
  await createTablesFromTemplate(
    {
      Resources: {
        ReleaseTable: {
          Type: 'AWS::DynamoDB::Table',
          Properties: {
            KeySchema: [
              { AttributeName: 'PK', KeyType: 'HASH' },
              { AttributeName: 'SK', KeyType: 'RANGE' },
            ],
            AttributeDefinitions: [
              { AttributeName: 'PK', AttributeType: 'S' },
              { AttributeName: 'SK', AttributeType: 'S' },
              { AttributeName: 'sweepShard', AttributeType: 'S' },
              { AttributeName: 'sweepAt', AttributeType: 'S' },
            ],
            GlobalSecondaryIndexes: [
              {
                IndexName: 'SweepIndex',
                KeySchema: [
                  { AttributeName: 'sweepShard', KeyType: 'HASH' },
                  { AttributeName: 'sweepAt', KeyType: 'RANGE' },
                ],
                Projection: { ProjectionType: 'KEYS_ONLY' },
              },
            ],
            BillingMode: 'PAY_PER_REQUEST',
          },
        },
      },
    },
    endpoint,
    () => TABLE_NAME,
  );
  Object.assign(process.env, {
    TABLE_NAME,
    AWS_REGION: 'us-east-1',
    AWS_ACCESS_KEY_ID: 'local',
    AWS_SECRET_ACCESS_KEY: 'local',
    AWS_ENDPOINT_URL_DYNAMODB: endpoint,
    ...environment,
  });
  resetClients();
}

/** The sample fleet (config/customers.json) imported into the table, as `customers import` would. */
export async function importSampleFleet(): Promise<void> {
  const { importFleet } = await import('../../../lambdas/application/fleet.js');
  const { SAMPLE_FLEET_FILE } = await import('../../../local/sample-fleet.js');
  await importFleet({ file: SAMPLE_FLEET_FILE }, 'test');
}
