import type { Message } from '../email/messages.js';
import { sendEmail } from '../email/send.js';
import { countEmail } from '../store/audit.js';

/** Emails the escalation contacts (ESCALATION_EMAILS, comma-separated), if any are configured. */
export async function emailEscalationContacts(
  release: string,
  kind: string,
  message: Message,
): Promise<void> {
  const recipients = (process.env.ESCALATION_EMAILS ?? '').split(',').filter(Boolean);
  if (recipients.length === 0) return;
  await sendEmail(recipients, message);
  await countEmail(release, kind);
}
