import { SimulatedClock } from '../local/clock.js';
import { measureEmailRate } from '../local/email-rate.js';
import { startLocalCloud } from '../local/local-cloud.js';

// Emails per second through the email queue and its sender into the local SES, at the local send rate
// (1,000/s) and unpaced (a quota far above what the path can reach).
const COUNT = Number(process.argv[2] ?? 2_000);
const clock = new SimulatedClock({ startAt: '2027-03-01T09:00:00Z', msPerSimulatedDay: 0 });
const local = await startLocalCloud({ version: 'v1.1.0', clock });
try {
  for (const sendRate of [14, 1_000, 1_000_000]) {
    const count = sendRate === 14 ? 140 : COUNT;
    const run = await measureEmailRate(local, clock, count, sendRate);
    console.log(
      `send rate ${String(sendRate).padStart(9)}/s: ${run.delivered}/${run.queued} emails in ${run.realSeconds.toFixed(2)} s = ${run.emailsPerSecond.toFixed(0)} emails/s`,
    );
  }
} finally {
  await local.stop();
}
