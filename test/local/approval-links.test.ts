import { describe, expect, it } from 'vitest';
import { ApprovalLinks } from '../../local/approval-links.js';
import type { LocalEmail } from '../../local/email.js';

const emailWith = (text: string): LocalEmail => ({
  messageId: text,
  to: ['ops@acme.example'],
  from: 'releases@securewatch.example',
  subject: 'Approval needed',
  text,
  at: '2030-03-04T09:00:00.000Z',
});

/** A mailbox that counts how many emails each reader was handed. */
function mailbox() {
  const emails: LocalEmail[] = [];
  let handedOut = 0;
  return {
    send: (text: string) => emails.push(emailWith(text)),
    receivedSince(seen: number) {
      const fresh = emails.slice(seen);
      handedOut += fresh.length;
      return fresh;
    },
    handedOut: () => handedOut,
  };
}

describe('ApprovalLinks', () => {
  it('finds each request’s review link, reading every email once however many requests are looked up', () => {
    const inbox = mailbox();
    const links = new ApprovalLinks(inbox);
    for (let n = 1; n <= 100; n++) {
      inbox.send(`SecureWatch is scheduled for customer ${n}.`);
      inbox.send(`Hello,\n\nReview: http://127.0.0.1:4000/approvals/req-${n}?approver=ops&amp;sig=s${n}`);
      expect(links.reviewUrl(`req-${n}`)).toBe(
        `http://127.0.0.1:4000/approvals/req-${n}?approver=ops&sig=s${n}`,
      );
    }
    expect(links.reviewUrl('req-1')).toBe('http://127.0.0.1:4000/approvals/req-1?approver=ops&sig=s1');
    expect(inbox.handedOut()).toBe(200);
  });

  it('keeps the first link of a request emailed to several approvers, and knows none for an unknown request', () => {
    const inbox = mailbox();
    const links = new ApprovalLinks(inbox);
    inbox.send('Review: http://127.0.0.1:4000/approvals/req-1?approver=ops&sig=a');
    inbox.send('Review: http://127.0.0.1:4000/approvals/req-1?approver=cto&sig=b');

    expect(links.reviewUrl('req-1')).toBe('http://127.0.0.1:4000/approvals/req-1?approver=ops&sig=a');
    expect(links.reviewUrl('req-2')).toBeUndefined();
  });
});
