import { EventBridgeClient, PutEventsCommand } from '@aws-sdk/client-eventbridge';
import { DescribeExecutionCommand, SFNClient, StartExecutionCommand } from '@aws-sdk/client-sfn';
import { SendMessageBatchCommand, SendMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import { mockClient } from 'aws-sdk-client-mock';
import { handler as openRelease } from '../../../lambdas/handlers/open-release.js';
import { handler as planRelease } from '../../../lambdas/handlers/plan-release.js';
import { handler as writePlanChunk } from '../../../lambdas/handlers/write-plan-chunk.js';
import { resetClients } from '../../../lambdas/shared/clients.js';
import { useClock, useRealClock } from '../../../lambdas/shared/clock.js';
import type { LocalDynamoDb } from '../../../local/dynamodb.js';
import { importSampleFleet, startReleaseTable } from './release-table.js';

// A release of the sample fleet planned into a dynalite table, as its execution's first task leaves it,
// with Step Functions, the bus and the email queue recorded instead of called: for operations an operator
// runs against a running release.

export const START_AT = '2027-03-01T09:00:00Z';
export const RELEASE_STATE_MACHINE_ARN_PREFIX =
  'arn:aws:states:us-east-1:111111111111:stateMachine:securewatch-release-';

export interface StartedExecution {
  name: string;
  input: Record<string, unknown>;
}

export interface QueuedEmail {
  to: string[];
  subject: string;
}

/** The world a test acts in: the table, the time, and what was asked of Step Functions, the bus and SES. */
export class RunningRelease {
  time = START_AT;
  /** Customer rollout executions by name: a name is unique; the same input again is the same execution. */
  readonly executions = new Map<string, StartedExecution>();
  #database: LocalDynamoDb | undefined;
  readonly #sfn = mockClient(SFNClient);
  readonly #events = mockClient(EventBridgeClient);
  readonly #queue = mockClient(SQSClient);

  async start(): Promise<void> {
    this.#database = await startReleaseTable({
      EVENT_BUS_NAME: 'securewatch-releases',
      EMAIL_QUEUE_URL: 'https://sqs.us-east-1.amazonaws.com/111111111111/securewatch-email',
      ESCALATION_EMAILS: 'release-manager@securewatch.example.com',
      RELEASE_STATE_MACHINE_ARN_PREFIX,
    });
    await importSampleFleet();
    useClock({ now: () => this.time });
  }

  async stop(): Promise<void> {
    useRealClock();
    this.#sfn.restore();
    this.#events.restore();
    this.#queue.restore();
    resetClients();
    await this.#database?.stop();
  }

  #releases = 0;

  /** A fresh release of the sample fleet planned at START_AT, a new version each time: v1.1.0, v1.2.0, … */
  async plan(): Promise<string> {
    this.#releases += 1;
    const release = `v1.${this.#releases}.0`;
    this.time = START_AT;
    this.executions.clear();
    this.#sfn.reset();
    this.#events.reset();
    this.#queue.reset();
    this.#events.on(PutEventsCommand).resolves({ FailedEntryCount: 0, Entries: [] });
    this.#queue.on(SendMessageCommand).resolves({ MessageId: 'queued' });
    this.#queue.on(SendMessageBatchCommand).resolves({ Successful: [], Failed: [] });
    this.#sfn.on(StartExecutionCommand).callsFake(async (input) => {
      const name = String(input.name);
      const started = { name, input: JSON.parse(String(input.input)) };
      const existing = this.executions.get(name);
      if (existing && JSON.stringify(existing.input) !== JSON.stringify(started.input))
        throw Object.assign(new Error(`Execution already exists: ${name}`), {
          name: 'ExecutionAlreadyExists',
        });
      this.executions.set(name, started);
      return { executionArn: `${String(input.stateMachineArn)}:${name}`, startDate: new Date() };
    });
    this.#sfn.on(DescribeExecutionCommand).callsFake(async (input) => {
      const name = String(input.executionArn).split(':').at(-1) ?? '';
      const existing = this.executions.get(name);
      if (!existing)
        throw Object.assign(new Error(`Execution does not exist: ${name}`), {
          name: 'ExecutionDoesNotExist',
        });
      return { input: JSON.stringify(existing.input), status: 'RUNNING' };
    });
    // The release execution's planning: plan, write every chunk (its Map), open the release.
    const { chunks } = await planRelease({ version: release, startAt: START_AT });
    for (const chunk of chunks) await writePlanChunk({ release, chunk });
    await openRelease({ release });
    return release;
  }

  /** Every email queued, in order (each SQS message is one email). */
  emails(): QueuedEmail[] {
    const bodies = [
      ...this.#queue.commandCalls(SendMessageCommand).map((call) => call.args[0].input.MessageBody ?? '{}'),
      ...this.#queue
        .commandCalls(SendMessageBatchCommand)
        .flatMap((call) => (call.args[0].input.Entries ?? []).map((entry) => entry.MessageBody ?? '{}')),
    ];
    return bodies.map((body) => {
      const { to, message } = JSON.parse(body);
      return { to, subject: message.subject };
    });
  }

  /** The `detail-type`s published on the bus, in order. */
  published(): string[] {
    return this.#events
      .commandCalls(PutEventsCommand)
      .flatMap((call) => (call.args[0].input.Entries ?? []).map((entry) => String(entry.DetailType)));
  }

  atDay(day: number): string {
    return new Date(Date.parse(START_AT) + day * 86_400_000).toISOString();
  }
}
