import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  ConditionalCheckFailedException,
  DescribeTableCommand,
  DynamoDBClient,
} from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, GetCommand, PutCommand, QueryCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { localClientConfig } from '../../local/aws-client-config.js';
import {
  createTablesFromTemplate,
  type LocalDynamoDb,
  type RecordedStoreRequest,
  startLocalDynamoDb,
} from '../../local/dynamodb.js';
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

  it('counts the requests it serves by operation', async () => {
    await createTablesFromTemplate(approvalsTemplate, dynamo.endpoint, (id) => `counted-${id}`);
    const before = dynamo.requestCounts();
    const documents = DynamoDBDocumentClient.from(client);
    const key = { pk: 'approval#2', sk: 'request' };
    await documents.send(
      new PutCommand({ TableName: 'counted-ApprovalsTable', Item: { ...key, customer: 'acme' } }),
    );
    await documents.send(new GetCommand({ TableName: 'counted-ApprovalsTable', Key: key }));
    await documents.send(new GetCommand({ TableName: 'counted-ApprovalsTable', Key: key }));

    const after = dynamo.requestCounts();
    expect(after.PutItem).toBe((before.PutItem ?? 0) + 1);
    expect(after.GetItem).toBe((before.GetItem ?? 0) + 2);
    expect(before.CreateTable).toBeGreaterThanOrEqual(2);
  });
});

describe('local DynamoDB recording its requests', () => {
  it('writes every request, in order, with its target and its body', async () => {
    const folder = mkdtempSync(join(tmpdir(), 'store-recording-'));
    const file = join(folder, 'requests.jsonl');
    const recording = await startLocalDynamoDb({ recordTo: file });
    const recorded = new DynamoDBClient(localClientConfig(recording.endpoint));
    try {
      await createTablesFromTemplate(approvalsTemplate, recording.endpoint, (id) => `recorded-${id}`);
      const documents = DynamoDBDocumentClient.from(recorded);
      await documents.send(new PutCommand({ TableName: 'recorded-AuditTable', Item: { id: 'a' } }));
      for (const id of ['a', 'b', 'c'])
        await documents.send(new GetCommand({ TableName: 'recorded-AuditTable', Key: { id } }));
    } finally {
      recorded.destroy();
      await recording.stop();
    }
    const lines = readFileSync(file, 'utf8')
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as RecordedStoreRequest);
    rmSync(folder, { recursive: true, force: true });

    const data = lines.filter((line) => !/CreateTable|DescribeTable/.test(line.target));
    expect(data.map((line) => [line.target, JSON.parse(line.body)])).toEqual([
      ['DynamoDB_20120810.PutItem', { TableName: 'recorded-AuditTable', Item: { id: { S: 'a' } } }],
      ...['a', 'b', 'c'].map((id) => [
        'DynamoDB_20120810.GetItem',
        { TableName: 'recorded-AuditTable', Key: { id: { S: id } } },
      ]),
    ]);
    expect(data[0]?.inFlight).toBe(1);
    expect(lines.slice(0, 2).map((line) => line.target)).toEqual([
      'DynamoDB_20120810.CreateTable',
      'DynamoDB_20120810.CreateTable',
    ]);
  });
});

describe('local DynamoDB serving SDK clients in-process', () => {
  let dynamo: LocalDynamoDb;
  let inProcess: DynamoDBDocumentClient;
  let overHttp: DynamoDBDocumentClient;

  beforeAll(async () => {
    dynamo = await startLocalDynamoDb();
    await createTablesFromTemplate(approvalsTemplate, dynamo.endpoint, (id) => `direct-${id}`);
    inProcess = DynamoDBDocumentClient.from(
      new DynamoDBClient({ ...localClientConfig(dynamo.endpoint), requestHandler: dynamo.requestHandler }),
    );
    overHttp = DynamoDBDocumentClient.from(new DynamoDBClient(localClientConfig(dynamo.endpoint)));
  });

  afterAll(async () => {
    inProcess?.destroy();
    overHttp?.destroy();
    await dynamo?.stop();
  });

  it('reads and writes the same table an HTTP client sees, index included', async () => {
    const key = { pk: 'approval#7', sk: 'request' };
    await inProcess.send(
      new PutCommand({ TableName: 'direct-ApprovalsTable', Item: { ...key, customer: 'globex' } }),
    );

    const { Item } = await overHttp.send(new GetCommand({ TableName: 'direct-ApprovalsTable', Key: key }));
    expect(Item).toEqual({ ...key, customer: 'globex' });
    const { Items } = await inProcess.send(
      new QueryCommand({
        TableName: 'direct-ApprovalsTable',
        IndexName: 'byCustomer',
        KeyConditionExpression: 'customer = :customer',
        ExpressionAttributeValues: { ':customer': 'globex' },
      }),
    );
    expect(Items).toEqual([{ ...key, customer: 'globex' }]);
  });

  it('answers a failed condition with the SDK error an HTTP client gets', async () => {
    const put = () =>
      inProcess.send(
        new PutCommand({
          TableName: 'direct-AuditTable',
          Item: { id: 'once' },
          ConditionExpression: 'attribute_not_exists(id)',
        }),
      );
    await put();
    await expect(put()).rejects.toBeInstanceOf(ConditionalCheckFailedException);
  });

  it('counts the requests it serves in-process with those served over HTTP', async () => {
    const before = dynamo.requestCounts();
    await inProcess.send(new GetCommand({ TableName: 'direct-AuditTable', Key: { id: 'once' } }));
    await overHttp.send(new GetCommand({ TableName: 'direct-AuditTable', Key: { id: 'once' } }));

    expect(dynamo.requestCounts().GetItem).toBe((before.GetItem ?? 0) + 2);
  });
});

describe('local DynamoDB keeping its items', () => {
  let dynamo: LocalDynamoDb;
  let documents: DynamoDBDocumentClient;

  beforeAll(async () => {
    dynamo = await startLocalDynamoDb();
    await createTablesFromTemplate(approvalsTemplate, dynamo.endpoint, (id) => `kept-${id}`);
    documents = DynamoDBDocumentClient.from(
      new DynamoDBClient({ ...localClientConfig(dynamo.endpoint), requestHandler: dynamo.requestHandler }),
    );
  });

  afterAll(async () => {
    documents?.destroy();
    await dynamo?.stop();
  });

  it("keeps each item as JSON text, not in a Buffer from Node's shared pool that would pin a whole slab", async () => {
    // dynalite's own way to its store: require, after the local runtime loaded it.
    const { MemoryLevel } = createRequire(import.meta.url)('memory-level') as typeof import('memory-level');
    const store = new MemoryLevel<string, unknown>({ valueEncoding: 'json' });
    await store.put('customer#acme', { state: 'deployed' });

    // _get is the storage hook under abstract-level's decoding: what memory-level holds, as it holds it.
    const storage = store as unknown as { _get(key: string, options: object): Promise<unknown> };
    await expect(storage._get('customer#acme', {})).resolves.toBe('{"state":"deployed"}');
  });

  it('returns sort keys in the order of their UTF-8 bytes, as DynamoDB does', async () => {
    const sortKeys = [
      'request#zürich',
      'request#zulu',
      'request#Zulu',
      'request#\u{1F600}',
      'request#\uFF5E',
    ];
    for (const sk of sortKeys)
      await documents.send(new PutCommand({ TableName: 'kept-ApprovalsTable', Item: { pk: 'order', sk } }));

    const { Items } = await documents.send(
      new QueryCommand({
        TableName: 'kept-ApprovalsTable',
        KeyConditionExpression: 'pk = :pk',
        ExpressionAttributeValues: { ':pk': 'order' },
      }),
    );
    const byUtf8Bytes = [...sortKeys].sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)));
    expect(Items?.map((item) => item.sk)).toEqual(byUtf8Bytes);
  });
});
