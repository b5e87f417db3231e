import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
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

export function dynamo(): DynamoDBDocumentClient {
  documentClient ??= DynamoDBDocumentClient.from(traced(new DynamoDBClient({})), {
    marshallOptions: { removeUndefinedValues: true },
  });
  return documentClient;
}

export function stepFunctions(): SFNClient {
  sfnClient ??= traced(new SFNClient({}));
  return sfnClient;
}

export function email(): SESv2Client {
  sesClient ??= traced(new SESv2Client({}));
  return sesClient;
}

export function events(): EventBridgeClient {
  eventsClient ??= traced(new EventBridgeClient({}));
  return eventsClient;
}

export function queue(): SQSClient {
  sqsClient ??= traced(new SQSClient({}));
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
