import { EventEmitter } from 'node:events';
import { createWriteStream } from 'node:fs';
import type { IncomingMessage, Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { CreateTableCommand, DescribeTableCommand, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import './dynalite-store-encoding.js';
import dynalite from 'dynalite';
import { LOCAL_KEEP_ALIVE_MS, localClientConfig } from './aws-client-config.js';
import { createTableInputFromResource, TABLE_RESOURCE_TYPES } from './table-from-template.js';
import type { CloudFormationTemplate } from './template-types.js';

export interface LocalDynamoDb {
  /** e.g. `http://127.0.0.1:49152`, for `new DynamoDBClient({ endpoint })` or `AWS_ENDPOINT_URL_DYNAMODB`. */
  endpoint: string;
  /**
   * An SDK request handler that gives each request to this dynalite directly, in this process: no socket,
   * no HTTP on either side. The requests are served, counted and recorded as if they had come over HTTP.
   */
  requestHandler: InProcessRequestHandler;
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
    requestHandler: inProcessRequestHandler(server),
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

/** The part of the SDK's request handler interface a client calls. */
export interface InProcessRequestHandler {
  handle(request: SdkRequest): Promise<{ response: SdkResponse }>;
}

interface SdkRequest {
  method: string;
  path: string;
  headers: Record<string, string>;
  body?: unknown;
}

interface SdkResponse {
  statusCode: number;
  headers: Record<string, string>;
  body: Uint8Array;
}

/** A request as dynalite's request listener reads it: method, URL, headers, then its body as events. */
class InProcessRequest extends EventEmitter {
  constructor(
    readonly method: string,
    readonly url: string,
    readonly headers: Record<string, string>,
  ) {
    super();
  }
}

/** A response as dynalite's request listener writes it; `end` hands it to the waiting client. */
class InProcessResponse extends EventEmitter {
  statusCode = 200;
  readonly headers: Record<string, string> = {};
  constructor(private readonly answer: (response: SdkResponse) => void) {
    super();
  }
  setHeader(name: string, value: string | number): void {
    this.headers[name.toLowerCase()] = String(value);
  }
  end(body?: string): void {
    this.answer({ statusCode: this.statusCode, headers: this.headers, body: Buffer.from(body ?? '') });
    this.emit('close');
  }
}

function inProcessRequestHandler(server: Server): InProcessRequestHandler {
  return {
    handle: (request) =>
      new Promise((resolve) => {
        const headers: Record<string, string> = {};
        for (const [name, value] of Object.entries(request.headers)) headers[name.toLowerCase()] = value;
        const incoming = new InProcessRequest(request.method, request.path, headers);
        const outgoing = new InProcessResponse((response) => resolve({ response }));
        server.emit('request', incoming, outgoing);
        incoming.emit('data', bodyBytes(request.body));
        incoming.emit('end');
      }),
  };
}

function bodyBytes(body: unknown): Buffer {
  if (body === undefined || body === null) return Buffer.alloc(0);
  if (typeof body === 'string') return Buffer.from(body);
  // A view, not Buffer.from(body): the SDK's JSON body is a Uint8Array whose valueOf() is a string.
  if (body instanceof Uint8Array) return Buffer.from(body.buffer, body.byteOffset, body.byteLength);
  throw new Error(
    `The in-process DynamoDB handler takes a string or bytes as a request body, not ${typeof body}`,
  );
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
