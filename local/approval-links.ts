import type { LocalEmailServer } from './email.js';

const REVIEW_LINK = /Review: (\S*\/approvals\/([^/?\s]+)\?\S+)/g;

/**
 * The review link of every approval request, by request id, indexed from the emails as the local SES
 * accepts them: each email is read once, so finding a link never lists the inbox.
 */
export class ApprovalLinks {
  readonly #links = new Map<string, string>();
  #seen = 0;

  constructor(private readonly email: Pick<LocalEmailServer, 'receivedSince'>) {}

  /** The first review link emailed for `requestId`, or undefined if none has been sent. */
  reviewUrl(requestId: string): string | undefined {
    if (!this.#links.has(requestId)) this.#indexNewEmails();
    return this.#links.get(requestId);
  }

  #indexNewEmails(): void {
    const fresh = this.email.receivedSince(this.#seen);
    this.#seen += fresh.length;
    for (const { text } of fresh) {
      for (const [, url, requestId] of (text ?? '').matchAll(REVIEW_LINK)) {
        if (url && requestId && !this.#links.has(requestId))
          this.#links.set(requestId, url.replaceAll('&amp;', '&'));
      }
    }
  }
}
