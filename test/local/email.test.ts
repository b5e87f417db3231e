import { SESv2Client, SendEmailCommand } from '@aws-sdk/client-sesv2';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { localClientConfig } from '../../local/aws-client-config.js';
import { type LocalEmailServer, startLocalEmail } from '../../local/email.js';

describe('local email', () => {
  let email: LocalEmailServer;
  let ses: SESv2Client;

  beforeAll(async () => {
    email = await startLocalEmail();
    ses = new SESv2Client(localClientConfig(email.endpoint));
  });

  afterAll(async () => {
    ses?.destroy();
    await email?.stop();
  });

  const approvalHtml =
    '<p>Please review.</p><a href="http://127.0.0.1:9/approvals/abc">Review the rollout</a>';

  it('stores an email sent with the SESv2 SendEmail command and lists it back', async () => {
    const before = Date.now();
    const { MessageId } = await ses.send(
      new SendEmailCommand({
        FromEmailAddress: 'releases@securewatch.example',
        Destination: { ToAddresses: ['ops@acme.example', 'cto@acme.example'] },
        Content: {
          Simple: {
            Subject: { Data: 'Approve SecureWatch v1.1.0 for Acme' },
            Body: {
              Text: { Data: 'Please review: http://127.0.0.1:9/approvals/abc' },
              Html: { Data: approvalHtml },
            },
          },
        },
      }),
    );

    const emails = await email.listEmails();
    expect(emails).toEqual([
      {
        messageId: MessageId,
        to: ['ops@acme.example', 'cto@acme.example'],
        from: 'releases@securewatch.example',
        subject: 'Approve SecureWatch v1.1.0 for Acme',
        text: 'Please review: http://127.0.0.1:9/approvals/abc',
        html: approvalHtml,
        at: expect.any(String),
      },
    ]);
    expect(Date.parse(emails[0]?.at ?? '')).toBeGreaterThanOrEqual(Math.floor(before / 1000) * 1000);
  });

  it('hands over, in-process, the emails sent after those a reader has already seen', async () => {
    const seen = (await email.listEmails()).length;
    await ses.send(
      new SendEmailCommand({
        FromEmailAddress: 'releases@securewatch.example',
        Destination: { ToAddresses: ['ops@globex.example'] },
        Content: {
          Simple: {
            Subject: { Data: 'Approve SecureWatch v1.1.0 for Globex' },
            Body: { Text: { Data: 'Later' } },
          },
        },
      }),
    );

    expect(email.receivedSince(seen).map(({ subject, text }) => ({ subject, text }))).toEqual([
      { subject: 'Approve SecureWatch v1.1.0 for Globex', text: 'Later' },
    ]);
    expect(email.receivedSince(seen + 1)).toEqual([]);
    expect(email.receivedSince(0)).toEqual(await email.listEmails());
  });

  it('shows the subject on the inbox page and renders the HTML body with clickable links, scripts off', async () => {
    const response = await fetch(email.inboxUrl);
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toMatch(/^text\/html/);
    const page = await response.text();
    expect(page).toContain('<h2>Approve SecureWatch v1.1.0 for Acme</h2>');
    expect(page).toContain('sandbox="allow-popups allow-popups-to-escape-sandbox"');
    expect(page).toContain('srcdoc="&lt;base target=&quot;_blank&quot;&gt;&lt;p&gt;Please review.&lt;/p&gt;');
    expect(page).toContain('href=&quot;http://127.0.0.1:9/approvals/abc&quot;');
  });

  it('counts its send calls and the emails in its mailbox', async () => {
    const before = email.sendStats();
    await ses.send(
      new SendEmailCommand({
        FromEmailAddress: 'releases@securewatch.example',
        Destination: { ToAddresses: ['ops@initech.example'] },
        Content: { Simple: { Subject: { Data: 'Counted' }, Body: { Text: { Data: 'Once' } } } },
      }),
    );
    await email.listEmails();

    expect(email.sendStats()).toEqual({ calls: before.calls + 1, emails: before.emails + 1 });
  });

  it('refuses to start a second server, which would share the same mailbox', async () => {
    await expect(startLocalEmail()).rejects.toThrow('already running in this process');
  });
});
