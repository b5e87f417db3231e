import { EventBridgeClient, PutEventsCommand } from '@aws-sdk/client-eventbridge';
import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import {
  DescribeExecutionCommand,
  SendTaskFailureCommand,
  SendTaskSuccessCommand,
  SFNClient,
  StartExecutionCommand,
} from '@aws-sdk/client-sfn';
import { SendMessageBatchCommand, SendMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import { mockClient } from 'aws-sdk-client-mock';
import type { SigningKeys } from '../../../lambdas/core/signing-keys.js';
import { useClock, useRealClock } from '../../../lambdas/shared/clock.js';
import { forgetSigningKeys } from '../../../lambdas/shared/signing-keys.js';
import { forgetKnownStepHealth } from '../../../lambdas/store/steps.js';
import { resetTable } from './fake-table.js';

// Everything a handler talks to, faked in memory and reset before each test: the table (fake-table.ts),
// the email queue, the event bus, Step Functions, Secrets Manager, the clock and the function's environment.

export const SIGNING_KEY = 'test-signing-key-0123456789abcdef';
export const SIGNING_KEYS: SigningKeys = { current: SIGNING_KEY };
export const SIGNING_SECRET_ARN =
  'arn:aws:secretsmanager:us-east-1:123456789012:secret:securewatch/approval-signing-keys-Ab12Cd';
export const APPROVAL_BASE_URL = 'https://approvals.securewatch.example.com/';

const queueMock = mockClient(SQSClient);
const eventsMock = mockClient(EventBridgeClient);
const sfnMock = mockClient(SFNClient);
const secretsMock = mockClient(SecretsManagerClient);

export const EMAIL_QUEUE_URL = 'https://sqs.us-east-1.amazonaws.com/123456789012/securewatch-email';

/** An email accepted by the email queue (its sender sends it through SES: test/handlers/send-email.test.ts). */
export interface SentEmail {
  to: string[];
  subject: string;
  text: string;
  html: string;
}

export interface PublishedEvent {
  detailType: string;
  source: string;
  bus: string;
  detail: Record<string, unknown>;
}

export type TaskAnswer =
  | { token: string; outcome: 'success'; output: Record<string, unknown> }
  | { token: string; outcome: 'failure'; error: string; cause: string };

let sentEmails: SentEmail[] = [];
let publishedEvents: PublishedEvent[] = [];
let taskAnswers: TaskAnswer[] = [];
let executionsStarted: { name: string; input: string }[] = [];
let currentTime = '2027-03-01T09:00:00.000Z';
let nextQueueFailure: Error | undefined;
let emailsAcceptedBeforeFailure = 0;
let signingSecret = JSON.stringify(SIGNING_KEYS);

export const RELEASE_STATE_MACHINE_ARN_PREFIX =
  'arn:aws:states:eu-central-1:111122223333:stateMachine:securewatch-release-';

/** Call from beforeEach: an empty table, no mail, no events, no answered tokens, a fixed clock. */
export function resetWorld(): void {
  Object.assign(process.env, {
    TABLE_NAME: 'securewatch-releases',
    EVENT_BUS_NAME: 'securewatch-release-bus',
    SENDER_EMAIL: 'releases@securewatch.example.com',
    SES_MAX_SEND_RATE: '1000',
    EMAIL_QUEUE_URL,
    APPROVAL_SIGNING_SECRET_ID: SIGNING_SECRET_ARN,
    APPROVAL_BASE_URL,
    RELEASE_STATE_MACHINE_ARN_PREFIX,
  });
  forgetSigningKeys();
  signingSecret = JSON.stringify(SIGNING_KEYS);
  secretsMock.reset();
  secretsMock.on(GetSecretValueCommand).callsFake((input: GetSecretValueCommand['input']) => {
    if (input.SecretId !== SIGNING_SECRET_ARN) {
      const error = new Error("Secrets Manager can't find the specified secret.");
      error.name = 'ResourceNotFoundException';
      throw error;
    }
    return { ARN: SIGNING_SECRET_ARN, SecretString: signingSecret, VersionStages: ['AWSCURRENT'] };
  });
  resetTable();
  forgetKnownStepHealth();
  sentEmails = [];
  publishedEvents = [];
  taskAnswers = [];
  executionsStarted = [];
  nextQueueFailure = undefined;
  useClock({ now: () => currentTime });

  queueMock.reset();
  const accept = (queueUrl: string | undefined, body: string | undefined) => {
    const failure = emailsAcceptedBeforeFailure-- > 0 ? undefined : nextQueueFailure;
    if (failure) {
      nextQueueFailure = undefined;
      throw failure;
    }
    if (queueUrl !== EMAIL_QUEUE_URL) throw new Error(`Sent to ${queueUrl}, not the email queue`);
    const { to, message } = JSON.parse(body ?? '{}');
    sentEmails.push({ to, subject: message.subject, text: message.text, html: message.html });
    return `message-${sentEmails.length}`;
  };
  queueMock.on(SendMessageCommand).callsFake((input: SendMessageCommand['input']) => ({
    MessageId: accept(input.QueueUrl, input.MessageBody),
  }));
  queueMock.on(SendMessageBatchCommand).callsFake((input: SendMessageBatchCommand['input']) => ({
    Successful: (input.Entries ?? []).map((entry) => ({
      Id: entry.Id,
      MessageId: accept(input.QueueUrl, entry.MessageBody),
    })),
    Failed: [],
  }));

  eventsMock.reset();
  eventsMock.on(PutEventsCommand).callsFake((input: PutEventsCommand['input']) => {
    const entries = input.Entries ?? [];
    for (const entry of entries) {
      publishedEvents.push({
        detailType: entry.DetailType ?? '',
        source: entry.Source ?? '',
        bus: entry.EventBusName ?? '',
        detail: JSON.parse(entry.Detail ?? '{}'),
      });
    }
    return { FailedEntryCount: 0, Entries: entries.map((_, index) => ({ EventId: `event-${index}` })) };
  });

  // Like Step Functions, a token is answered once; a second answer is refused with TaskTimedOut.
  sfnMock.reset();
  sfnMock.on(SendTaskSuccessCommand).callsFake((input: SendTaskSuccessCommand['input']) => {
    const token = input.taskToken ?? '';
    refuseSecondAnswer(token);
    taskAnswers.push({ token, outcome: 'success', output: JSON.parse(input.output ?? '{}') });
    return {};
  });
  sfnMock.on(StartExecutionCommand).callsFake((input: StartExecutionCommand['input']) => {
    executionsStarted.push({ name: input.name ?? '', input: input.input ?? '' });
    return { executionArn: `${input.stateMachineArn}:${input.name}`, startDate: new Date() };
  });
  sfnMock.on(SendTaskFailureCommand).callsFake((input: SendTaskFailureCommand['input']) => {
    const token = input.taskToken ?? '';
    refuseSecondAnswer(token);
    taskAnswers.push({ token, outcome: 'failure', error: input.error ?? '', cause: input.cause ?? '' });
    return {};
  });
}

export function restoreRealClock(): void {
  useRealClock();
}

function refuseSecondAnswer(token: string): void {
  if (taskAnswers.some((answer) => answer.token === token)) {
    const error = new Error('Task Timed Out: the task associated with the token has already been closed');
    error.name = 'TaskTimedOut';
    throw error;
  }
}

/** The signing secret now holds these keys (as after `npm run rotate-signing-key`). */
export function givenTheSigningKeysAre(keys: SigningKeys): void {
  signingSecret = JSON.stringify(keys);
}

/** A new instance of each function starts: it holds no keys read before. */
export function givenFreshFunctionInstances(): void {
  forgetSigningKeys();
}

/** How many times the functions read the signing secret from Secrets Manager. */
export function signingSecretReads(): number {
  return secretsMock.commandCalls(GetSecretValueCommand).length;
}

export function givenTheTimeIs(iso: string): void {
  currentTime = iso;
}

/** The next email queued (or the one after `accepted` more) is refused by the queue with this error. */
export function givenTheQueueRefusesTheNextEmail(name: string, message: string, accepted = 0): void {
  emailsAcceptedBeforeFailure = accepted;
  nextQueueFailure = new Error(message);
  nextQueueFailure.name = name;
}

export function emailsSent(): SentEmail[] {
  return [...sentEmails];
}

/** Each SendMessageBatch call to the email queue: the ids of the emails it queued. */
export function emailQueueBatches(): string[][] {
  return queueMock
    .commandCalls(SendMessageBatchCommand)
    .map((call) =>
      (call.args[0].input.Entries ?? []).map((entry) => JSON.parse(entry.MessageBody ?? '{}').id),
    );
}

/** How many SendMessage calls (one email each) the email queue had. */
export function emailQueueSingleSends(): number {
  return queueMock.commandCalls(SendMessageCommand).length;
}

export function eventsPublished(): PublishedEvent[] {
  return [...publishedEvents];
}

/** Answers Step Functions accepted, one per token. */
export function tokensAnswered(): TaskAnswer[] {
  return [...taskAnswers];
}

/** Child executions started, with their input as Step Functions receives it. */
export function startedExecutions(): { name: string; input: string }[] {
  return [...executionsStarted];
}

/** Every SendTaskSuccess / SendTaskFailure call, accepted or refused. */
export function taskAnswerCalls(): number {
  return (
    sfnMock.commandCalls(SendTaskSuccessCommand).length + sfnMock.commandCalls(SendTaskFailureCommand).length
  );
}

/** Step Functions knows this execution, started with `input` (DescribeExecution). */
export function givenExecution(executionArn: string, input: Record<string, unknown>): void {
  sfnMock
    .on(DescribeExecutionCommand, { executionArn })
    .resolves({ executionArn, input: JSON.stringify(input), status: 'FAILED' } as never);
}

/** Runs `act` and returns the error it threw, failing when it did not throw. */
export async function errorFrom(act: () => Promise<unknown>): Promise<Error> {
  try {
    await act();
  } catch (error) {
    return error as Error;
  }
  throw new Error('expected the handler to throw, but it returned');
}
