import { SendEmailCommand } from '@aws-sdk/client-sesv2';
import { email } from '../shared/clients.js';
import { optionalNumberEnv, requiredEnv } from '../shared/env.js';
import type { Message } from './messages.js';

// SES takes at most 50 destinations per message; the sandbox sends one message per second. The rate is
// a setting (SES_MAX_SEND_RATE) because production accounts get more.
const MAX_DESTINATIONS = 50;
let lastSentAt = 0;

export async function sendEmail(to: string[], message: Message): Promise<void> {
  const minInterval = 1000 / optionalNumberEnv('SES_MAX_SEND_RATE', 1);
  for (let start = 0; start < to.length; start += MAX_DESTINATIONS) {
    const wait = lastSentAt + minInterval - Date.now();
    if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
    lastSentAt = Date.now();
    await email().send(
      new SendEmailCommand({
        FromEmailAddress: requiredEnv('SENDER_EMAIL'),
        Destination: { ToAddresses: to.slice(start, start + MAX_DESTINATIONS) },
        ConfigurationSetName: process.env.SES_CONFIGURATION_SET || undefined,
        Content: {
          Simple: {
            Subject: { Data: message.subject, Charset: 'UTF-8' },
            Body: {
              Text: { Data: message.text, Charset: 'UTF-8' },
              Html: { Data: message.html, Charset: 'UTF-8' },
            },
          },
        },
      }),
    );
  }
}
