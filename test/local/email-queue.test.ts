import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SimulatedClock } from '../../local/clock.js';
import { LocalQueues } from '../../local/queue.js';
import {
  type LocalQueueDefinition,
  type ResolvedCloud,
  resolveCloud,
  synthesizeRelease,
} from '../../local/templates.js';

const START = '2027-03-01T09:00:00.000Z';
const QUEUE: LocalQueueDefinition = {
  logicalId: 'Emails',
  arn: 'arn:aws:sqs:us-east-1:000000000000:Emails',
  url: 'http://127.0.0.1/000000000000/Emails',
  visibilityTimeoutSeconds: 720,
  redrive: { deadLetterArn: 'arn:aws:sqs:us-east-1:000000000000:EmailDeadLetters', maxReceiveCount: 3 },
};
const DEAD_LETTERS: LocalQueueDefinition = {
  logicalId: 'EmailDeadLetters',
  arn: 'arn:aws:sqs:us-east-1:000000000000:EmailDeadLetters',
  url: 'http://127.0.0.1/000000000000/EmailDeadLetters',
  visibilityTimeoutSeconds: 30,
};
const SENDER = 'arn:aws:lambda:us-east-1:000000000000:function:Sender';

interface SqsBatch {
  Records: { messageId: string; body: string; attributes: { ApproximateReceiveCount: string } }[];
}

/** Queues feeding a fake sender that answers each batch with `answer`, at simulated `clock` time. */
function queuesWith(clock: SimulatedClock, answer: (batch: SqsBatch) => unknown = () => ({})) {
  const batches: { at: string; bodies: string[] }[] = [];
  const queues = new LocalQueues(
    clock,
    [QUEUE, DEAD_LETTERS],
    [
      {
        logicalId: 'Mapping',
        queueArn: QUEUE.arn,
        functionArn: SENDER,
        batchSize: 10,
        reportsBatchItemFailures: true,
      },
    ],
    async (_arn, event) => {
      const batch = event as SqsBatch;
      batches.push({ at: clock.now(), bodies: batch.Records.map((record) => record.body) });
      return answer(batch);
    },
  );
  return { queues, batches };
}

const send = (queues: LocalQueues, bodies: string[]) =>
  queues.sendMessageBatch({
    QueueUrl: QUEUE.url,
    Entries: bodies.map((body, index) => ({ Id: String(index), MessageBody: body })),
  });

describe('the local email queue', () => {
  it('delivers what is sent to it in batches of the mapping’s size, one batch at a time', async () => {
    const clock = new SimulatedClock({ startAt: START, msPerSimulatedDay: 0 });
    const { queues, batches } = queuesWith(clock);

    send(
      queues,
      Array.from({ length: 10 }, (_, index) => `email ${index}`),
    );
    send(
      queues,
      Array.from({ length: 5 }, (_, index) => `email ${10 + index}`),
    );
    await queues.drained();

    expect(batches.map((batch) => batch.bodies.length)).toEqual([10, 5]);
    expect(batches.flatMap((batch) => batch.bodies)).toEqual(
      Array.from({ length: 15 }, (_, index) => `email ${index}`),
    );
  });

  it('keeps simulated time still while it has messages to deliver', async () => {
    const clock = new SimulatedClock({ startAt: START, msPerSimulatedDay: 0 });
    let idleDuringDelivery: boolean | undefined;
    const { queues } = queuesWith(clock, () => {
      idleDuringDelivery = clock.isIdle();
      return {};
    });

    send(queues, ['email']);
    const idleRightAfterSending = clock.isIdle();
    await queues.drained();

    expect(idleRightAfterSending).toBe(false);
    expect(idleDuringDelivery).toBe(false);
    expect(clock.isIdle()).toBe(true);
  });

  it('answers with the MD5 of each body, as the SDK checks', () => {
    const clock = new SimulatedClock({ startAt: START, msPerSimulatedDay: 0 });
    const { queues } = queuesWith(clock);

    expect(queues.sendMessage({ QueueUrl: QUEUE.url, MessageBody: 'hello' }).MD5OfMessageBody).toBe(
      '5d41402abc4b2a76b9719d911017c592',
    );
  });

  it('refuses a queue that is not in the templates and a batch of more than 10', () => {
    const clock = new SimulatedClock({ startAt: START, msPerSimulatedDay: 0 });
    const { queues } = queuesWith(clock);

    expect(() => queues.sendMessage({ QueueUrl: 'http://127.0.0.1/0/Other', MessageBody: 'x' })).toThrow(
      /does not exist/,
    );
    expect(() =>
      send(
        queues,
        Array.from({ length: 11 }, () => 'x'),
      ),
    ).toThrow(/at most 10/);
  });

  it('delivers a failed item again after the visibility timeout, and after the receive limit moves it to the DLQ', async () => {
    const clock = new SimulatedClock({ startAt: START, msPerSimulatedDay: 0 });
    const { queues, batches } = queuesWith(clock, (batch) => ({
      batchItemFailures: batch.Records.filter((record) => record.body === 'refused').map((record) => ({
        itemIdentifier: record.messageId,
      })),
    }));

    send(queues, ['sent', 'refused']);
    await clock.until('2027-03-01T10:00:00.000Z');
    await queues.drained();

    expect(batches).toEqual([
      { at: START, bodies: ['sent', 'refused'] },
      { at: '2027-03-01T09:12:00.000Z', bodies: ['refused'] },
      { at: '2027-03-01T09:24:00.000Z', bodies: ['refused'] },
    ]);
    expect(queues.waiting('EmailDeadLetters')).toEqual(['refused']);
  });

  it('delivers a whole batch again when the function fails', async () => {
    const clock = new SimulatedClock({ startAt: START, msPerSimulatedDay: 0 });
    let failures = 1;
    const { queues, batches } = queuesWith(clock, () => {
      if (failures-- > 0) throw new Error('the sender crashed');
      return {};
    });

    send(queues, ['a', 'b']);
    await clock.until('2027-03-01T09:30:00.000Z');
    await queues.drained();

    expect(batches.map((batch) => batch.bodies)).toEqual([
      ['a', 'b'],
      ['a', 'b'],
    ]);
  });
});

describe('the email queue the local runtime builds from the templates', () => {
  const outdir = mkdtempSync(join(tmpdir(), 'securewatch-email-queue-'));
  let cloud: ResolvedCloud;

  beforeAll(() => {
    cloud = resolveCloud(synthesizeRelease('v1.1.0', outdir), {
      tables: {},
      approvalApiUrl: 'http://127.0.0.1:9',
      signingKey: 'local-key',
      queueBaseUrl: 'http://127.0.0.1:8',
    });
  });
  afterAll(() => rmSync(outdir, { recursive: true, force: true }));

  it('feeds the one queue to the send-email function, in batches of 10 reporting failed items', () => {
    expect(cloud.queueConsumers).toEqual([
      expect.objectContaining({
        functionArn: cloud.operations.get('send-email'),
        batchSize: 10,
        reportsBatchItemFailures: true,
      }),
    ]);
  });

  it('redrives the queue to its dead-letter queue after 20 receives', () => {
    const [consumer] = cloud.queueConsumers;
    const queue = cloud.queues.find((each) => each.arn === consumer?.queueArn);
    const deadLetters = cloud.queues.find((each) => each.arn === queue?.redrive?.deadLetterArn);

    expect(queue?.redrive?.maxReceiveCount).toBe(20);
    expect(deadLetters).toBeDefined();
  });

  it('gives the functions that email the queue’s local URL', () => {
    const [consumer] = cloud.queueConsumers;
    const queue = cloud.queues.find((each) => each.arn === consumer?.queueArn);
    const requestApproval = cloud.functions.get(cloud.operations.get('request-approval') ?? '');

    expect(queue?.url).toMatch(/^http:\/\/127\.0\.0\.1:8\/000000000000\//);
    expect(requestApproval?.environment.EMAIL_QUEUE_URL).toBe(queue?.url);
  });
});
