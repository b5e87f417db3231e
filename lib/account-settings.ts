import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { z } from 'zod';

/** The one place an account's deployment settings live; every deploy reads it, so no deploy can forget one. */
export const ACCOUNT_SETTINGS_FILE = 'config/account.json';

/** Settings that once were `-c` flags: passing one now fails synth rather than being half-applied. */
const FORMER_FLAGS = ['senderEmail', 'escalationEmails', 'producerAccounts', 'sesMaxSendRate', 'alarmEmail'];

const email = z.email({ error: 'must be an email address, e.g. "releases@yourdomain.com"' });

export const AccountSettingsSchema = z.strictObject({
  /** The SES identity every email comes from (verify it in SES before the first release). */
  senderEmail: email,
  /** Who hears about pauses, halts and completions. */
  escalationEmails: z.array(email).max(50, { error: 'at most 50 addresses' }),
  /** Who receives the CloudWatch alarms (DLQ depth, failed executions, paused or halted releases). */
  alarmEmail: email,
  /** AWS accounts whose environments may put Deployment Succeeded/Failed and Health Reported on the bus. */
  producerAccounts: z
    .array(z.string().regex(/^\d{12}$/, { error: 'must be a 12-digit AWS account id, e.g. "123456789012"' }))
    .max(100, { error: 'at most 100 accounts' }),
  /** SES messages per second for this account (sandbox: 1; see the account's SES sending quota). */
  sesMaxSendRate: z
    .number({ error: 'must be a number of messages per second' })
    .positive({ error: 'must be above 0' })
    .max(1000, { error: 'must be at most 1000 (the account’s SES quota, in messages per second)' }),
});

export type AccountSettings = z.infer<typeof AccountSettingsSchema>;

/** Parses account settings, naming each bad setting, what is wrong, and the file to fix it in. */
export function parseAccountSettings(raw: unknown, source = ACCOUNT_SETTINGS_FILE): AccountSettings {
  const parsed = AccountSettingsSchema.safeParse(raw);
  if (parsed.success) return parsed.data;
  const problems = parsed.error.issues.map((issue) => {
    const setting = issue.path.length > 0 ? issue.path.join('.') : '(the file)';
    return `  - ${setting}: ${issue.message}`;
  });
  throw new Error(
    `Invalid account settings in ${source}:\n${problems.join('\n')}\nFix them in ${source} and run the command again.`,
  );
}

/** Reads and validates config/account.json under the project root. */
export function readAccountSettings(projectRoot: string): AccountSettings {
  const file = path.join(projectRoot, ACCOUNT_SETTINGS_FILE);
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(file, 'utf8'));
  } catch (error) {
    throw new Error(
      `Cannot read ${ACCOUNT_SETTINGS_FILE}: ${(error as Error).message}. Create it as the README's "Deploying to an AWS account" shows.`,
    );
  }
  return parseAccountSettings(raw);
}

/** Refuses a former `-c` flag: a setting given on one deploy's command line is lost by the next. */
export function refuseSettingFlags(tryGetContext: (key: string) => unknown): void {
  const given = FORMER_FLAGS.filter((key) => tryGetContext(key) !== undefined);
  if (given.length > 0)
    throw new Error(
      `${given.map((key) => `-c ${key}`).join(', ')}: account settings are not flags any more. Set ${given.join(', ')} in ${ACCOUNT_SETTINGS_FILE} instead, so every later deploy keeps them.`,
    );
}
