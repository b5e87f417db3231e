import { GetAccountCommand, SESv2Client, SendEmailCommand } from '@aws-sdk/client-sesv2';
import { mockClient } from 'aws-sdk-client-mock';
import { afterAll, beforeEach, describe, expect, it } from 'vitest';
import { type QueuedEmail, sendEmail, sendEmails } from '../../lambdas/email/send.js';
import {
  containerSendRate,
  deliverQueuedEmails,
  forgetPacer,
  Pacer,
  sendRate,
  type Timer,
} from '../../lambdas/email/sender.js';
import { handler } from '../../lambdas/handlers/send-email.js';
import { getItem } from './support/fake-table.js';
import {
  emailQueueBatches,
  emailQueueSingleSends,
  emailsSent,
  errorFrom,
  givenTheTimeIs,
  resetWorld,
  restoreRealClock,
} from './support/world.js';

// The email queue's sender: SES behind a mock, the claims in the fake table.

const ses = mockClient(SESv2Client);
/** What SES answers to the next sends, in order; then it sends. */
let sesAnswers: (Error | 'sent')[] = [];
let sesAccepted = 0;
let quota: number | undefined;
const MESSAGE = { subject: 'SecureWatch v1.1.0 is scheduled', text: 'Hello', html: '<p>Hello</p>' };

/** What SES answers when it refuses: the SDK error carries the HTTP status of SES's answer. */
function sesError(name: string, status: number): Error {
  return Object.assign(new Error(`${name} from SES`), { name, $metadata: { httpStatusCode: status } });
}

function givenSesAnswersNext(...answers: (Error | 'sent')[]): void {
  sesAnswers.push(...answers);
}

function sesCalls() {
  return ses.commandCalls(SendEmailCommand).map((call) => call.args[0].input);
}

/** The emails SES accepted. */
function sesSends(): number {
  return sesAccepted;
}

let nextMessage = 0;
function aQueuedMessage(email: Partial<QueuedEmail> = {}) {
  nextMessage += 1;
  const queued: QueuedEmail = {
    id: `email-${nextMessage}`,
    to: [`ops@customer-${nextMessage}.example.com`],
    message: MESSAGE,
    ...email,
  };
  return { messageId: `sqs-${nextMessage}`, body: JSON.stringify(queued) };
}

/** Simulated time for the pacer: sleeping moves it on and is recorded. */
function aTimer(): Timer & { waits: number[] } {
  let nowMs = 0;
  const waits: number[] = [];
  return {
    waits,
    nowMs: () => nowMs,
    sleep: async (ms) => {
      waits.push(ms);
      nowMs += ms;
    },
  };
}

beforeEach(() => {
  resetWorld();
  forgetPacer();
  sesAnswers = [];
  sesAccepted = 0;
  quota = 1000;
  ses.reset();
  ses.on(GetAccountCommand).callsFake(() => {
    if (quota === undefined) throw sesError('AccessDeniedException', 403);
    return { SendQuota: { MaxSendRate: quota, Max24HourSend: 50_000, SentLast24Hours: 0 } };
  });
  ses.on(SendEmailCommand).callsFake(() => {
    const answer = sesAnswers.shift() ?? 'sent';
    if (answer !== 'sent') throw answer;
    sesAccepted += 1;
    return { MessageId: 'ses-message' };
  });
});
afterAll(() => {
  ses.restore();
  restoreRealClock();
});

describe('send-email (the email queue’s sender)', () => {
  it('sends each queued email through SES from the sender identity, to its recipients', async () => {
    // Prepare
    const message = aQueuedMessage({ to: ['ops@acme.example.com', 'cto@acme.example.com'] });

    // Act
    const response = await handler({ Records: [message] });

    // Assess
    expect(response.batchItemFailures).toEqual([]);
    expect(sesCalls()).toEqual([
      expect.objectContaining({
        FromEmailAddress: 'releases@securewatch.example.com',
        Destination: { ToAddresses: ['ops@acme.example.com', 'cto@acme.example.com'] },
        Content: {
          Simple: expect.objectContaining({ Subject: { Data: MESSAGE.subject, Charset: 'UTF-8' } }),
        },
      }),
    ]);
  });

  it('sends an email the queue delivers twice only once', async () => {
    // Prepare
    const message = aQueuedMessage();

    // Act
    const first = await handler({ Records: [message] });
    const again = await handler({ Records: [message] });

    // Assess
    expect(sesCalls()).toHaveLength(1);
    expect(first.batchItemFailures).toEqual([]);
    expect(again.batchItemFailures).toEqual([]);
  });

  it('keeps its claim on a sent email 30 days, past every redelivery, then lets DynamoDB delete it', async () => {
    // Prepare
    givenTheTimeIs('2027-03-01T09:00:00.000Z');
    const message = aQueuedMessage();

    // Act
    await handler({ Records: [message] });

    // Assess
    const claim = getItem(`EMAIL#${JSON.parse(message.body).id}`, 'DELIVERY');
    expect(claim?.timeToLive).toBe(Date.parse('2027-03-31T09:00:00.000Z') / 1000);
  });

  it('sends an email enqueued twice under one id (an enqueue the SDK retried) only once', async () => {
    // Prepare
    const body = aQueuedMessage().body;

    // Act
    await handler({ Records: [{ messageId: 'sqs-first', body }] });
    await handler({ Records: [{ messageId: 'sqs-second', body }] });

    // Assess
    expect(sesCalls()).toHaveLength(1);
  });

  it('retries a throttled send after a backoff, slows down, and sends it once', async () => {
    // Prepare
    const timer = aTimer();
    const pacer = new Pacer(10, timer);
    givenSesAnswersNext(sesError('TooManyRequestsException', 429));

    // Act
    const run = await deliverQueuedEmails([aQueuedMessage()], { pacer, timer });

    // Assess
    expect(run).toEqual({ sent: 1, duplicates: 0, failedMessageIds: [] });
    expect(sesCalls()).toHaveLength(2);
    expect(sesSends()).toBe(1);
    expect(pacer.ratePerSecond).toBe(5);
  });

  it('hands a send still throttled, and the rest of its batch, back to the queue; the next delivery sends them once', async () => {
    // Prepare
    const timer = aTimer();
    const pacer = new Pacer(10, timer);
    const batch = [aQueuedMessage(), aQueuedMessage(), aQueuedMessage()];
    const throttled = () => sesError('TooManyRequestsException', 429);
    // The first email goes out on its retry; the second is throttled on every try.
    givenSesAnswersNext(throttled(), 'sent', throttled(), throttled(), throttled(), throttled());
    const [, second, third] = batch;

    // Act
    const run = await deliverQueuedEmails(batch, { pacer, timer });
    const redelivery = await deliverQueuedEmails(
      batch.filter((message) => run.failedMessageIds.includes(message.messageId)),
      { pacer, timer },
    );

    // Assess
    expect(run.sent).toBe(1);
    expect(run.failedMessageIds).toEqual([second?.messageId, third?.messageId]);
    expect(redelivery).toEqual({ sent: 2, duplicates: 0, failedMessageIds: [] });
    expect(sesSends()).toBe(3);
  });

  it('hands an email SES refuses back to the queue without keeping its claim, so a later delivery sends it', async () => {
    // Prepare
    const message = aQueuedMessage();
    givenSesAnswersNext(sesError('MessageRejected', 400));

    // Act
    const refused = await handler({ Records: [message] });
    const redelivered = await handler({ Records: [message] });

    // Assess
    expect(refused.batchItemFailures).toEqual([{ itemIdentifier: message.messageId }]);
    expect(redelivered.batchItemFailures).toEqual([]);
    expect(sesSends()).toBe(1);
  });

  it('hands back a message that is not a queued email (for the DLQ) and sends the rest', async () => {
    // Prepare
    const broken = { messageId: 'sqs-broken', body: '{"to":"nobody"}' };
    const good = aQueuedMessage();

    // Act
    const response = await handler({ Records: [broken, good] });

    // Assess
    expect(response.batchItemFailures).toEqual([{ itemIdentifier: 'sqs-broken' }]);
    expect(sesCalls()).toHaveLength(1);
  });

  it('hands back, unsent, what it could not send before the invocation ends', async () => {
    // Prepare
    const batch = [aQueuedMessage(), aQueuedMessage()];

    // Act
    const response = await handler({ Records: batch }, { getRemainingTimeInMillis: () => 5_000 });

    // Assess
    expect(response.batchItemFailures.map((failure) => failure.itemIdentifier)).toEqual(
      batch.map((message) => message.messageId),
    );
    expect(sesCalls()).toEqual([]);
  });

  it('refuses an event that is not from SQS with a clear error', async () => {
    const error = await errorFrom(() => handler({ detail: {} }));

    expect(error.message).toMatch(/send-email takes SQS events/);
  });
});

describe('the sender’s pace', () => {
  it.each([
    { quota: 14, cap: '50', rate: 14 },
    { quota: 200, cap: '50', rate: 50 },
    { quota: undefined, cap: '50', rate: 1 },
  ])('is the SES quota ($quota/s) capped by SES_MAX_SEND_RATE ($cap/s): $rate/s', async (given) => {
    quota = given.quota;
    process.env.SES_MAX_SEND_RATE = given.cap;

    expect(await sendRate()).toBe(given.rate);
  });

  it('is split between the senders running at once, so together they keep to the quota', async () => {
    quota = 14;
    process.env.SES_MAX_SEND_RATE = '50';
    process.env.EMAIL_SENDERS = '2';

    try {
      expect(await containerSendRate()).toBe(7);
    } finally {
      delete process.env.EMAIL_SENDERS;
    }
  });

  it('counts recipients, not messages: at 4/s, emails to 2 recipients go out half a second apart', async () => {
    const timer = aTimer();
    const pacer = new Pacer(4, timer);

    for (let sent = 0; sent < 3; sent++) await pacer.take(2);

    expect(timer.waits).toEqual([500, 500]);
  });

  it('is kept across a batch: 10 emails to one recipient each at 5/s take 1.8 s', async () => {
    const timer = aTimer();
    const pacer = new Pacer(5, timer);

    await deliverQueuedEmails(
      Array.from({ length: 10 }, () => aQueuedMessage()),
      { pacer, timer },
    );

    expect(timer.nowMs()).toBe(1800);
    expect(sesCalls()).toHaveLength(10);
  });
});

describe('sendEmail (what the callers call)', () => {
  it('queues the email rather than calling SES', async () => {
    await sendEmail(['ops@acme.example.com'], MESSAGE);

    expect(emailsSent()).toEqual([{ to: ['ops@acme.example.com'], ...MESSAGE }]);
    expect(sesCalls()).toEqual([]);
  });

  it('splits an email to more than 50 recipients into messages of at most 50, as SES takes', async () => {
    const to = Array.from({ length: 120 }, (_, index) => `approver-${index}@acme.example.com`);

    await sendEmail(to, MESSAGE);

    expect(emailsSent().map((email) => email.to.length)).toEqual([50, 50, 20]);
  });

  it('queues many emails in batches of 10, each email with an id of its own', async () => {
    await sendEmails(
      Array.from({ length: 25 }, (_, index) => ({
        to: [`ops@customer-${index}.example.com`],
        message: MESSAGE,
      })),
    );

    expect(emailsSent()).toHaveLength(25);
    expect(emailQueueBatches().map((ids) => ids.length)).toEqual([10, 10, 5]);
    expect(new Set(emailQueueBatches().flat()).size).toBe(25);
    expect(emailQueueSingleSends()).toBe(0);
  });
});
