import { GetAccountCommand, SendEmailCommand } from '@aws-sdk/client-sesv2';
import { email } from '../shared/clients.js';
import { now } from '../shared/clock.js';
import { optionalNumberEnv, requiredEnv } from '../shared/env.js';
import { countMetric, logger } from '../shared/observability.js';
import { claimEmailDelivery, releaseEmailDelivery } from '../store/email-deliveries.js';
import { type QueuedEmail, queuedEmailSchema } from './send.js';

// The one sender of the email queue. It runs with a reserved concurrency of 1, so pacing here paces the
// account: SES counts recipients, not messages, against its maximum send rate.

/** How often a throttled email is tried again in the same invocation before it goes back to the queue. */
export const THROTTLE_RETRIES = 3;
const BACKOFF_BASE_MS = 200;
const BACKOFF_MAX_MS = 5_000;
/** Time kept free at the end of an invocation: what would not be sent before it goes back to the queue. */
const TIME_TO_SPARE_MS = 10_000;
/** After throttling the pace halves, down to this rate. */
const SLOWEST_RATE = 0.1;

export interface Timer {
  nowMs(): number;
  sleep(ms: number): Promise<void>;
}

export const realTimer: Timer = {
  nowMs: () => Date.now(),
  sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
};

/** Spaces sends so that recipients per second stay at or below the rate. */
export class Pacer {
  #nextAtMs = 0;

  constructor(
    public ratePerSecond: number,
    private readonly timer: Timer = realTimer,
  ) {
    if (!(ratePerSecond > 0)) throw new RangeError(`The send rate must be above 0, got ${ratePerSecond}`);
  }

  /** How long the next send must wait. */
  delayMs(): number {
    return Math.max(0, this.#nextAtMs - this.timer.nowMs());
  }

  /** Waits until `recipients` more may be sent, and books them. */
  async take(recipients: number): Promise<void> {
    const wait = this.delayMs();
    if (wait > 0) await this.timer.sleep(wait);
    this.#nextAtMs = Math.max(this.timer.nowMs(), this.#nextAtMs) + (recipients * 1000) / this.ratePerSecond;
  }

  slowDown(): void {
    this.ratePerSecond = Math.max(this.ratePerSecond / 2, SLOWEST_RATE);
  }
}

/**
 * The rate to send at: the account's SES maximum send rate (GetAccount), capped by SES_MAX_SEND_RATE
 * (the configured send rate). When SES does not tell, the sandbox's 1 per second.
 */
export async function sendRate(): Promise<number> {
  const cap = optionalNumberEnv('SES_MAX_SEND_RATE', 1);
  if (!(cap > 0)) throw new Error(`SES_MAX_SEND_RATE must be above 0, got ${cap}`);
  let quota: number | undefined;
  try {
    quota = (await email().send(new GetAccountCommand({}))).SendQuota?.MaxSendRate;
  } catch (error) {
    logger.warn('SES GetAccount failed; sending at 1 email per second', { error: (error as Error).name });
  }
  return Math.min(cap, quota && quota > 0 ? quota : 1);
}

/** This container's share of the send rate: the account's rate split over the senders running at once. */
export async function containerSendRate(): Promise<number> {
  const senders = optionalNumberEnv('EMAIL_SENDERS', 1);
  if (!(Number.isInteger(senders) && senders >= 1))
    throw new Error(`EMAIL_SENDERS must be a whole number of at least 1, got ${senders}`);
  return (await sendRate()) / senders;
}

let pacer: Pacer | undefined;

/** One pacer per container (the rate is read from SES once, at the first batch). */
async function containerPacer(timer: Timer): Promise<Pacer> {
  pacer ??= new Pacer(await containerSendRate(), timer);
  return pacer;
}

/** Forgets the container's pacer (tests; the local runtime between rehearsals). */
export function forgetPacer(): void {
  pacer = undefined;
}

export interface QueueRecord {
  messageId: string;
  body: string;
}

export interface DeliveryRun {
  sent: number;
  /** Delivered before (the queue delivered them again): not sent a second time. */
  duplicates: number;
  /** The queue's message ids to deliver again: refused, throttled, or not reached in time. */
  failedMessageIds: string[];
}

export interface DeliveryOptions {
  /** What is left of the invocation's time. */
  remainingMs?: () => number;
  timer?: Timer;
  /** Overrides the container's pacer (tests). */
  pacer?: Pacer;
}

type Outcome = 'sent' | 'duplicate' | 'throttled' | 'refused';

/**
 * Sends a batch from the email queue in order, paced. An email claimed before (sent already) is skipped.
 * Throttling slows the pace and is retried with backoff; still throttled, the email and the rest of the
 * batch go back to the queue, which delivers them again later (and, after its receive limit, to the DLQ).
 */
export async function deliverQueuedEmails(
  records: QueueRecord[],
  options: DeliveryOptions = {},
): Promise<DeliveryRun> {
  const timer = options.timer ?? realTimer;
  const remainingMs = options.remainingMs ?? (() => Number.POSITIVE_INFINITY);
  const pace = options.pacer ?? (await containerPacer(timer));
  const run: DeliveryRun = { sent: 0, duplicates: 0, failedMessageIds: [] };
  for (const [index, record] of records.entries()) {
    const queued = parseQueuedEmail(record);
    if (!queued) {
      run.failedMessageIds.push(record.messageId);
      continue;
    }
    if (remainingMs() - pace.delayMs() < TIME_TO_SPARE_MS) {
      run.failedMessageIds.push(...records.slice(index).map((rest) => rest.messageId));
      break;
    }
    const outcome = await deliver(queued, pace, timer);
    if (outcome === 'sent') run.sent += 1;
    if (outcome === 'duplicate') run.duplicates += 1;
    if (outcome === 'refused') run.failedMessageIds.push(record.messageId);
    if (outcome === 'throttled') {
      run.failedMessageIds.push(...records.slice(index).map((rest) => rest.messageId));
      break;
    }
  }
  return run;
}

function parseQueuedEmail(record: QueueRecord): QueuedEmail | undefined {
  let body: unknown;
  try {
    body = JSON.parse(record.body);
  } catch {
    body = undefined;
  }
  const parsed = queuedEmailSchema.safeParse(body);
  if (parsed.success) return parsed.data;
  countMetric('EmailsFailed');
  logger.error('A message on the email queue is not a queued email; it stays on the queue for the DLQ', {
    messageId: record.messageId,
    issues: parsed.error?.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`),
  });
  return undefined;
}

async function deliver(queued: QueuedEmail, pace: Pacer, timer: Timer): Promise<Outcome> {
  if (!(await claimEmailDelivery(queued.id, now()))) return 'duplicate';
  for (let attempt = 0; ; attempt++) {
    await pace.take(queued.to.length);
    try {
      await email().send(sesRequest(queued));
      countMetric('EmailsSent');
      return 'sent';
    } catch (error) {
      // No answer from SES: it may have sent the email. The claim stays, so it is never sent twice.
      if (!answeredBySes(error)) {
        countMetric('EmailsFailed');
        logger.error('SES did not answer; the email is not sent again', {
          emailId: queued.id,
          error: (error as Error).name,
        });
        return 'sent';
      }
      const throttled = isThrottling(error);
      if (throttled && attempt < THROTTLE_RETRIES) {
        pace.slowDown();
        await timer.sleep(backoffMs(attempt));
        continue;
      }
      // SES refused it, so it was not sent: the next delivery from the queue may try again.
      await releaseEmailDelivery(queued.id);
      countMetric(throttled ? 'EmailsThrottled' : 'EmailsFailed');
      logger.error(throttled ? 'SES throttled the email; back to the queue' : 'SES refused the email', {
        emailId: queued.id,
        error: (error as Error).name,
      });
      return throttled ? 'throttled' : 'refused';
    }
  }
}

function sesRequest(queued: QueuedEmail): SendEmailCommand {
  return new SendEmailCommand({
    FromEmailAddress: requiredEnv('SENDER_EMAIL'),
    Destination: { ToAddresses: queued.to },
    ConfigurationSetName: process.env.SES_CONFIGURATION_SET || undefined,
    Content: {
      Simple: {
        Subject: { Data: queued.message.subject, Charset: 'UTF-8' },
        Body: {
          Text: { Data: queued.message.text, Charset: 'UTF-8' },
          Html: { Data: queued.message.html, Charset: 'UTF-8' },
        },
      },
    },
  });
}

/** Exponential backoff with full jitter. */
function backoffMs(attempt: number): number {
  return Math.random() * Math.min(BACKOFF_MAX_MS, BACKOFF_BASE_MS * 2 ** (attempt + 1));
}

function answeredBySes(error: unknown): boolean {
  return (
    typeof (error as { $metadata?: { httpStatusCode?: unknown } })?.$metadata?.httpStatusCode === 'number'
  );
}

export function isThrottling(error: unknown): boolean {
  const { name, $retryable } = error as { name?: string; $retryable?: { throttling?: boolean } };
  return (
    $retryable?.throttling === true ||
    name === 'TooManyRequestsException' ||
    name === 'ThrottlingException' ||
    name === 'Throttling'
  );
}
