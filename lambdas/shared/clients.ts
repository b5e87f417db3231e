import { DynamoDBClient, type DynamoDBClientConfig } from '@aws-sdk/client-dynamodb';
import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { SESv2Client } from '@aws-sdk/client-sesv2';
import { SFNClient } from '@aws-sdk/client-sfn';
import { SQSClient } from '@aws-sdk/client-sqs';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { traced } from './observability.js';

// One client per process, created lazily so tests and the local rehearsal can point the SDK at stand-ins
// (AWS_ENDPOINT_URL_DYNAMODB, AWS_ENDPOINT_URL_SFN, ...) before the first call. Each is traced in X-Ray
// on Lambda; elsewhere tracing is off and the client is used as it is.
let documentClient: DynamoDBDocumentClient | undefined;
let sfnClient: SFNClient | undefined;
let sesClient: SESv2Client | undefined;
let eventsClient: EventBridgeClient | undefined;
let sqsClient: SQSClient | undefined;

/**
 * What a runtime changes in the SDK's defaults for every client built here: nothing on AWS; the local
 * runtime's loopback settings (no signing, its own connection pool) in a rehearsal.
 */
export interface ClientSettings extends Pick<DynamoDBClientConfig, 'requestHandler' | 'httpAuthSchemes'> {
  /** SQS only: `false` skips checking the MD5 digests the queue answers with. */
  md5?: false;
  /** DynamoDB only: SDK middleware (by name) the endpoint has no use for, each made a pass-through of that name. */
  passThrough?: readonly string[];
}

/** The services the handlers call, each through one client. */
export type ClientService = 'dynamodb' | 'sfn' | 'sesv2' | 'eventbridge' | 'sqs';

const SDK_DEFAULTS = (): ClientSettings => ({});
let clientSettings: (service: ClientService) => ClientSettings = SDK_DEFAULTS;

/**
 * Builds every client from now on with `settings(service)` (called once per client), or with the SDK's
 * defaults when omitted; forgets the clients built so far.
 */
export function useClientSettings(settings?: (service: ClientService) => ClientSettings): void {
  clientSettings = settings ?? SDK_DEFAULTS;
  resetClients();
}

/** The settings of a client of any service but SQS. */
function commonSettings(service: Exclude<ClientService, 'sqs'>): Omit<ClientSettings, 'md5' | 'passThrough'> {
  const { md5: _sqsOnly, passThrough: _stack, ...common } = clientSettings(service);
  return common;
}

/** The DynamoDB client with the middleware its settings pass through made pass-throughs. */
function lean(client: DynamoDBClient): DynamoDBClient {
  const stack = client.middlewareStack;
  // identify() lists "name (a.k.a. …) - step".
  const steps = new Map(
    stack.identify().map((entry) => [entry.split(' ')[0], entry.slice(entry.lastIndexOf(' - ') + 3)]),
  );
  for (const name of clientSettings('dynamodb').passThrough ?? []) {
    const step = steps.get(name) as 'build' | undefined;
    if (!step) continue;
    stack.remove(name);
    stack.add((next) => next, { step, name, priority: 'high' });
  }
  return client;
}

export function dynamo(): DynamoDBDocumentClient {
  documentClient ??= DynamoDBDocumentClient.from(
    traced(lean(new DynamoDBClient(commonSettings('dynamodb')))),
    { marshallOptions: { removeUndefinedValues: true } },
  );
  return documentClient;
}

export function stepFunctions(): SFNClient {
  sfnClient ??= traced(new SFNClient(commonSettings('sfn')));
  return sfnClient;
}

export function email(): SESv2Client {
  sesClient ??= traced(new SESv2Client(commonSettings('sesv2')));
  return sesClient;
}

export function events(): EventBridgeClient {
  eventsClient ??= traced(new EventBridgeClient(commonSettings('eventbridge')));
  return eventsClient;
}

export function queue(): SQSClient {
  sqsClient ??= traced(new SQSClient(clientSettings('sqs')));
  return sqsClient;
}

/** Forgets the clients, so the next call builds them from the current environment (local rehearsal, tests). */
export function resetClients(): void {
  documentClient?.destroy();
  sfnClient?.destroy();
  sesClient?.destroy();
  eventsClient?.destroy();
  sqsClient?.destroy();
  documentClient = undefined;
  sfnClient = undefined;
  sesClient = undefined;
  eventsClient = undefined;
  sqsClient = undefined;
}
