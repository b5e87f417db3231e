import {
  ConditionalCheckFailedException,
  DescribeTableCommand,
  DynamoDBClient,
} from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, PutCommand, QueryCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { localClientConfig } from '../../local/aws-client-config.js';
import { createTablesFromTemplate, type LocalDynamoDb, startLocalDynamoDb } from '../../local/dynamodb.js';
import type { CloudFormationTemplate } from '../../local/template-types.js';

const approvalsTemplate: CloudFormationTemplate = {
  Resources: {
    ApprovalsTable: {
      Type: 'AWS::DynamoDB::Table',
      Properties: {
        KeySchema: [
          { AttributeName: 'pk', KeyType: 'HASH' },
          { AttributeName: 'sk', KeyType: 'RANGE' },
        ],
        AttributeDefinitions: [
          { AttributeName: 'pk', AttributeType: 'S' },
          { AttributeName: 'sk', AttributeType: 'S' },
          { AttributeName: 'customer', AttributeType: 'S' },
        ],
        GlobalSecondaryIndexes: [
          {
            IndexName: 'byCustomer',
            KeySchema: [{ AttributeName: 'customer', KeyType: 'HASH' }],
            Projection: { ProjectionType: 'ALL' },
          },
        ],
        BillingMode: 'PAY_PER_REQUEST',
        TimeToLiveSpecification: { AttributeName: 'expiresAt', Enabled: true },
        TableName: { Ref: 'AWS::NoValue' },
      },
    },
    AuditTable: {
      Type: 'AWS::DynamoDB::Table',
      Properties: {
        KeySchema: [{ AttributeName: 'id', KeyType: 'HASH' }],
        AttributeDefinitions: [{ AttributeName: 'id', AttributeType: 'S' }],
        ProvisionedThroughput: { ReadCapacityUnits: 1, WriteCapacityUnits: 1 },
      },
    },
    Bus: { Type: 'AWS::Events::EventBus', Properties: { Name: 'release-bus' } },
  },
};

describe('local DynamoDB', () => {
  let dynamo: LocalDynamoDb;
  let client: DynamoDBClient;

  beforeAll(async () => {
    dynamo = await startLocalDynamoDb();
    client = new DynamoDBClient(localClientConfig(dynamo.endpoint));
  });

  afterAll(async () => {
    client?.destroy();
    await dynamo?.stop();
  });

  it('creates every table of a template, active, with its index, and a conditional put fails the second time', async () => {
    const names = await createTablesFromTemplate(
      approvalsTemplate,
      dynamo.endpoint,
      (id) => `rehearsal-${id}`,
    );
    expect(names).toEqual({ ApprovalsTable: 'rehearsal-ApprovalsTable', AuditTable: 'rehearsal-AuditTable' });

    const { Table } = await client.send(new DescribeTableCommand({ TableName: 'rehearsal-ApprovalsTable' }));
    expect(Table?.TableStatus).toBe('ACTIVE');
    expect(Table?.BillingModeSummary?.BillingMode).toBe('PAY_PER_REQUEST');
    expect(Table?.GlobalSecondaryIndexes?.map((index) => [index.IndexName, index.IndexStatus])).toEqual([
      ['byCustomer', 'ACTIVE'],
    ]);

    const documents = DynamoDBDocumentClient.from(client);
    const putOnce = () =>
      documents.send(
        new PutCommand({
          TableName: 'rehearsal-ApprovalsTable',
          Item: { pk: 'approval#1', sk: 'request', customer: 'acme', state: 'pending' },
          ConditionExpression: 'attribute_not_exists(pk)',
        }),
      );
    await putOnce();
    await expect(putOnce()).rejects.toBeInstanceOf(ConditionalCheckFailedException);

    const byCustomer = await documents.send(
      new QueryCommand({
        TableName: 'rehearsal-ApprovalsTable',
        IndexName: 'byCustomer',
        KeyConditionExpression: 'customer = :customer',
        ExpressionAttributeValues: { ':customer': 'acme' },
      }),
    );
    expect(byCustomer.Items).toEqual([
      { pk: 'approval#1', sk: 'request', customer: 'acme', state: 'pending' },
    ]);
  });

  it('refuses a key schema made of intrinsics, naming the resource and property, and creates nothing', async () => {
    const template: CloudFormationTemplate = {
      Resources: {
        GoodTable: {
          Type: 'AWS::DynamoDB::Table',
          Properties: {
            KeySchema: [{ AttributeName: 'id', KeyType: 'HASH' }],
            AttributeDefinitions: [{ AttributeName: 'id', AttributeType: 'S' }],
            BillingMode: 'PAY_PER_REQUEST',
          },
        },
        ParameterisedTable: {
          Type: 'AWS::DynamoDB::Table',
          Properties: {
            KeySchema: [{ AttributeName: { Ref: 'KeyName' }, KeyType: 'HASH' }],
            AttributeDefinitions: [{ AttributeName: 'id', AttributeType: 'S' }],
            BillingMode: 'PAY_PER_REQUEST',
          },
        },
      },
    };
    await expect(
      createTablesFromTemplate(template, dynamo.endpoint, (id) => `refused-${id}`),
    ).rejects.toThrow(
      'AWS::DynamoDB::Table "ParameterisedTable": Properties.KeySchema[0].AttributeName is the CloudFormation intrinsic {"Ref":"KeyName"}',
    );
    await expect(client.send(new DescribeTableCommand({ TableName: 'refused-GoodTable' }))).rejects.toThrow();
  });
});
