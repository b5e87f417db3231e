import { performance } from 'node:perf_hooks';
import { sendEmails } from '../lambdas/email/send.js';
import { forgetPacer } from '../lambdas/email/sender.js';
import type { SimulatedClock } from './clock.js';
import { type LocalCloud, localSesAccount } from './local-cloud.js';

export interface EmailRateRun {
  queued: number;
  delivered: number;
  /** The pace the sender was given: min(the local SES quota, the cap). */
  sendRate: number;
  realSeconds: number;
  emailsPerSecond: number;
}

/**
 * Queues `count` emails on a running local cloud, the way the orchestrator's functions do, and measures
 * how fast the sender gets them into the local SES: the whole path, queue, sender, claims and SES.
 */
export async function measureEmailRate(
  local: LocalCloud,
  clock: SimulatedClock,
  count: number,
  sendRate: number,
): Promise<EmailRateRun> {
  process.env.SES_MAX_SEND_RATE = String(sendRate);
  process.env.AWS_SES_ACCOUNT = localSesAccount(sendRate);
  forgetPacer();
  const before = local.email.receivedSince(0).length;
  const started = performance.now();
  await clock.track(
    sendEmails(
      Array.from({ length: count }, (_, index) => ({
        to: [`ops@customer-${index}.example.com`],
        message: { subject: `Email ${index}`, text: `Email ${index}`, html: `<p>Email ${index}</p>` },
      })),
    ),
  );
  await local.queues.drained();
  const realSeconds = (performance.now() - started) / 1000;
  const delivered = local.email.receivedSince(before).length;
  return { queued: count, delivered, sendRate, realSeconds, emailsPerSecond: delivered / realSeconds };
}
