import { afterEach, describe, expect, it } from 'vitest';
import { SimulatedClock } from '../../local/clock.js';
import { measureEmailRate } from '../../local/email-rate.js';
import { scenarioSchema } from '../../local/fleet-simulator.js';
import { type LocalCloud, startLocalCloud } from '../../local/local-cloud.js';
import { rehearse } from '../../local/rehearsal.js';

const START = '2027-03-01T09:00:00Z';

describe('email on the local cloud goes through the queue to the sender', () => {
  let local: LocalCloud | undefined;
  afterEach(async () => {
    await local?.stop();
    local = undefined;
  });

  it('delivers each queued email to the inbox once, even when every handler runs twice', async () => {
    const clock = new SimulatedClock({ startAt: START, msPerSimulatedDay: 0 });
    local = await startLocalCloud({ version: 'v1.1.0', clock, invokeTwice: true });

    const run = await measureEmailRate(local, clock, 60, 1_000);
    console.log(`local email path: ${run.emailsPerSecond.toFixed(0)} emails/s (${run.delivered} emails)`);

    const { queues } = local.cloud;
    const deadLetters = queues.find((queue) =>
      queues.some((other) => other.redrive?.deadLetterArn === queue.arn),
    );
    expect(run.delivered).toBe(60);
    expect(local.queues.waiting(deadLetters?.logicalId ?? '')).toEqual([]);
  });

  it('counts in a rehearsal exactly the emails the sender delivers', async () => {
    let delivered = 0;
    const outcome = await rehearse({
      version: 'v1.1.0',
      startAt: START,
      msPerDay: 0,
      autoApprove: true,
      scenario: scenarioSchema.parse({}),
      onReady: (cloud) =>
        cloud.queues.onDelivered((delivery) => {
          delivered += delivery.delivered;
        }),
    });

    const counted = Object.values(outcome.emails).reduce((sum, count) => sum + count, 0);
    expect(outcome.status).toBe('SUCCEEDED');
    expect(counted).toBeGreaterThan(0);
    expect(delivered).toBe(counted);
  });
});
