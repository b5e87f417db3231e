import { EventBridgeClient, PutEventsCommand } from '@aws-sdk/client-eventbridge';
import { SESv2Client, SendEmailCommand } from '@aws-sdk/client-sesv2';
import {
  DescribeExecutionCommand,
  SendTaskFailureCommand,
  SendTaskSuccessCommand,
  SFNClient,
  StartExecutionCommand,
} from '@aws-sdk/client-sfn';
import { mockClient } from 'aws-sdk-client-mock';
import { useClock, useRealClock } from '../../../lambdas/shared/clock.js';
import { resetTable } from './fake-table.js';

// Everything a handler talks to, faked in memory and reset before each test: the table (fake-table.ts),
// SES, the event bus, Step Functions, the clock and the function's environment.

export const SIGNING_KEY = 'test-signing-key-0123456789abcdef';
export const APPROVAL_BASE_URL = 'https://approvals.securewatch.example.com/';

const sesMock = mockClient(SESv2Client);
const eventsMock = mockClient(EventBridgeClient);
const sfnMock = mockClient(SFNClient);

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
let nextSesFailure: Error | undefined;

/** Call from beforeEach: an empty table, no mail, no events, no answered tokens, a fixed clock. */
export function resetWorld(): void {
  Object.assign(process.env, {
    TABLE_NAME: 'securewatch-releases',
    EVENT_BUS_NAME: 'securewatch-release-bus',
    SENDER_EMAIL: 'releases@securewatch.example.com',
    SES_MAX_SEND_RATE: '1000',
    APPROVAL_SIGNING_KEY: SIGNING_KEY,
    APPROVAL_BASE_URL,
  });
  resetTable();
  sentEmails = [];
  publishedEvents = [];
  taskAnswers = [];
  executionsStarted = [];
  nextSesFailure = undefined;
  useClock({ now: () => currentTime });

  sesMock.reset();
  sesMock.on(SendEmailCommand).callsFake((input: SendEmailCommand['input']) => {
    const failure = nextSesFailure;
    nextSesFailure = undefined;
    if (failure) throw failure;
    const simple = input.Content?.Simple;
    sentEmails.push({
      to: input.Destination?.ToAddresses ?? [],
      subject: simple?.Subject?.Data ?? '',
      text: simple?.Body?.Text?.Data ?? '',
      html: simple?.Body?.Html?.Data ?? '',
    });
    return { MessageId: `message-${sentEmails.length}` };
  });

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

export function givenTheTimeIs(iso: string): void {
  currentTime = iso;
}

/** The next email SES is asked to send fails with this error. */
export function givenSesRefusesTheNextEmail(name: string, message: string): void {
  nextSesFailure = new Error(message);
  nextSesFailure.name = name;
}

export function emailsSent(): SentEmail[] {
  return [...sentEmails];
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
