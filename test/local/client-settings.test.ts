import { GetCommand, PutCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { dynamo, queue, useClientSettings } from '../../lambdas/shared/clients.js';
import { IN_PROCESS_DYNAMODB_PASS_THROUGH, localClientSettings } from '../../local/aws-client-config.js';
import type { LocalDynamoDb } from '../../local/dynamodb.js';
import { startReleaseTable, TABLE_NAME } from './support/release-table.js';

// The handlers' SDK clients: on AWS exactly the SDK's defaults (SigV4 signing, MD5-checked queue
// answers); in a rehearsal the local runtime's loopback settings, which the stand-ins accept.

/** The Authorization header of each request the handlers' DynamoDB client sends, as it leaves. */
function recordAuthorization(): string[] {
  return recordHeader('authorization');
}

/** One header of each request the handlers' DynamoDB client sends, as it leaves ('' when absent). */
function recordHeader(name: string): string[] {
  const sent: string[] = [];
  type Next = (args: { request: unknown }) => Promise<unknown>;
  const record = (next: Next) => async (args: { request: unknown }) => {
    const { headers } = args.request as { headers: Record<string, string> };
    sent.push(headers[name] ?? '');
    return next(args);
  };
  dynamo().middlewareStack.addRelativeTo(record as never, {
    name: `record ${name}`,
    relation: 'after',
    toMiddleware: 'httpSigningMiddleware',
  });
  return sent;
}

async function writeAndRead(id: string): Promise<unknown> {
  await dynamo().send(new PutCommand({ TableName: TABLE_NAME, Item: { PK: id, SK: 'item', value: id } }));
  const { Item } = await dynamo().send(
    new GetCommand({ TableName: TABLE_NAME, Key: { PK: id, SK: 'item' } }),
  );
  return Item?.value;
}

describe('the handlers’ SDK clients', () => {
  let database: LocalDynamoDb;
  beforeAll(async () => {
    database = await startReleaseTable();
  });
  afterEach(() => useClientSettings());
  afterAll(async () => {
    useClientSettings();
    await database.stop();
  });

  it('sign every request with SigV4 when no runtime changes their settings, as on AWS', async () => {
    useClientSettings();
    const sent = recordAuthorization();

    expect(await writeAndRead('aws-1')).toBe('aws-1');
    expect(await writeAndRead('aws-2')).toBe('aws-2');

    expect(sent).toHaveLength(4);
    for (const authorization of sent)
      expect(authorization).toMatch(
        /^AWS4-HMAC-SHA256 Credential=local\/\d{8}\/us-east-1\/dynamodb\/.*Signature=[0-9a-f]{64}$/,
      );
    // Each signature covers its own request.
    expect(new Set(sent).size).toBe(4);
    expect(queue().config.md5).not.toBe(false);
  });

  it('send the stand-ins a fixed Authorization instead of a signature under the local settings, and still work', async () => {
    useClientSettings(localClientSettings);
    const sent = recordAuthorization();

    expect(await writeAndRead('local-1')).toBe('local-1');
    expect(await writeAndRead('local-2')).toBe('local-2');

    expect(sent).toHaveLength(4);
    expect(new Set(sent).size).toBe(1);
    expect(sent[0]).not.toMatch(/Signature=[0-9a-f]{64}/);
    expect(queue().config.md5).toBe(false);
  });

  it('pass through the middleware dynalite in the same process has no use for (retries, user agent), and still work', async () => {
    useClientSettings(() => ({ ...localClientSettings(), passThrough: IN_PROCESS_DYNAMODB_PASS_THROUGH }));
    const invocationIds = recordHeader('amz-sdk-invocation-id');
    const userAgents = recordHeader('x-amz-user-agent');

    expect(await writeAndRead('lean-1')).toBe('lean-1');
    expect(await writeAndRead('lean-2')).toBe('lean-2');

    expect(invocationIds).toEqual(['', '', '', '']);
    expect(userAgents).toEqual(['', '', '', '']);
  });

  it('keep retries and the user agent under the local settings alone', async () => {
    useClientSettings(localClientSettings);
    const invocationIds = recordHeader('amz-sdk-invocation-id');
    const userAgents = recordHeader('x-amz-user-agent');

    await writeAndRead('local-ua');

    expect(invocationIds.every((id) => /^[0-9a-f-]{36}$/.test(id))).toBe(true);
    expect(userAgents.every((agent) => agent.includes('aws-sdk-js'))).toBe(true);
  });

  it('go back to the SDK’s defaults once the local settings are dropped', async () => {
    useClientSettings(localClientSettings);
    await writeAndRead('local-3');
    useClientSettings();
    const sent = recordAuthorization();

    expect(await writeAndRead('aws-3')).toBe('aws-3');
    expect(sent[0]).toMatch(/Signature=[0-9a-f]{64}$/);
  });
});
