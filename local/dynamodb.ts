import { createWriteStream } from 'node:fs';
import type { IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { CreateTableCommand, DescribeTableCommand, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import dynalite from 'dynalite';
import { LOCAL_KEEP_ALIVE_MS, localClientConfig } from './aws-client-config.js';
import { createTableInputFromResource, TABLE_RESOURCE_TYPES } from './table-from-template.js';
import type { CloudFormationTemplate } from './template-types.js';

export interface LocalDynamoDb {
  /** e.g. `http://127.0.0.1:49152`, for `new DynamoDBClient({ endpoint })` or `AWS_ENDPOINT_URL_DYNAMODB`. */
  endpoint: string;
  /** Requests served so far, by operation (`GetItem`, `UpdateItem`…, from the `X-Amz-Target` header). */
  requestCounts(): Record<string, number>;
  stop(): Promise<void>;
}

export interface LocalDynamoDbOptions {
  /**
   * A file where every request is written as it arrives, one JSON line each: its `X-Amz-Target`, its
   * body and how many requests were in flight with it (the bench replays them as its floor). Off by default.
   */
  recordTo?: string;
}

/** One line of a `recordTo` file. */
export interface RecordedStoreRequest {
  target: string;
  body: string;
  /** Requests in flight as it arrived, itself included. */
  inFlight: number;
  /** When it arrived (epoch ms). */
  at: number;
}

const TABLE_ACTIVE_TIMEOUT_MS = 10_000;
const TABLE_STATUS_POLL_MS = 5;

/** Runs dynalite in this process, in memory, on an ephemeral port of 127.0.0.1. */
export async function startLocalDynamoDb(options: LocalDynamoDbOptions = {}): Promise<LocalDynamoDb> {
  const server = dynalite({ createTableMs: 0, deleteTableMs: 0, updateTableMs: 0 });
  server.keepAliveTimeout = LOCAL_KEEP_ALIVE_MS;
  const counts: Record<string, number> = {};
  const recording = options.recordTo ? createWriteStream(options.recordTo) : undefined;
  let inFlight = 0;
  server.on('request', (request: IncomingMessage, response) => {
    const target = String(request.headers['x-amz-target'] ?? '');
    const operation = target.slice(target.indexOf('.') + 1);
    counts[operation] = (counts[operation] ?? 0) + 1;
    if (!recording) return;
    inFlight += 1;
    const arrivedWith = inFlight;
    const at = Date.now();
    response.once('close', () => {
      inFlight -= 1;
    });
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.once('end', () => {
      const line: RecordedStoreRequest = {
        target,
        body: Buffer.concat(chunks).toString('utf8'),
        inFlight: arrivedWith,
        at,
      };
      recording.write(`${JSON.stringify(line)}\n`);
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  const { port } = server.address() as AddressInfo;
  let stopped: Promise<void> | undefined;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    requestCounts: () => ({ ...counts }),
    stop() {
      stopped ??= new Promise<void>((resolve, reject) => {
        server.close((error) => (error ? reject(error) : resolve()));
        // SDK clients keep sockets alive; without this, close waits for them to time out.
        server.closeIdleConnections();
      }).then(() => new Promise<void>((resolve) => (recording ? recording.end(resolve) : resolve())));
      return stopped;
    },
  };
}

/**
 * Creates every DynamoDB table of a synthesized template, as the template defines it, and waits
 * until all are ACTIVE (dynalite activates tables asynchronously).
 * Returns the local table name of each table's logical id.
 */
export async function createTablesFromTemplate(
  template: CloudFormationTemplate,
  endpoint: string,
  nameFor: (logicalId: string) => string,
): Promise<Record<string, string>> {
  // Translate every table before creating any, so a template we cannot run changes nothing.
  const tables = Object.entries(template.Resources)
    .filter(([, resource]) => TABLE_RESOURCE_TYPES.has(resource.Type))
    .map(([logicalId, resource]) => {
      const tableName = nameFor(logicalId);
      return { logicalId, tableName, request: createTableInputFromResource(logicalId, resource, tableName) };
    });
  const client = new DynamoDBClient(localClientConfig(endpoint));
  try {
    await Promise.all(tables.map(({ request }) => client.send(new CreateTableCommand(request))));
    await Promise.all(tables.map(({ tableName }) => waitUntilActive(client, tableName)));
  } finally {
    client.destroy();
  }
  return Object.fromEntries(tables.map(({ logicalId, tableName }) => [logicalId, tableName]));
}

async function waitUntilActive(client: DynamoDBClient, tableName: string): Promise<void> {
  const deadline = Date.now() + TABLE_ACTIVE_TIMEOUT_MS;
  for (;;) {
    const { Table } = await client.send(new DescribeTableCommand({ TableName: tableName }));
    const indexesActive = (Table?.GlobalSecondaryIndexes ?? []).every(
      (index) => index.IndexStatus === 'ACTIVE',
    );
    if (Table?.TableStatus === 'ACTIVE' && indexesActive) return;
    if (Date.now() > deadline) {
      throw new Error(
        `Local table ${tableName} is still ${Table?.TableStatus} after ${TABLE_ACTIVE_TIMEOUT_MS} ms; is dynalite overloaded?`,
      );
    }
    await sleep(TABLE_STATUS_POLL_MS);
  }
}
