import { describe, expect, it } from 'vitest';
import {
  newApprovalRequestId,
  reviewUrl,
  signApproval,
  verifyApproval,
} from '../../lambdas/core/approval-link.js';

const KEY = 'test-key';
const link = {
  requestId: newApprovalRequestId(),
  approver: 'cfo@financefirst.example',
  expiresAt: '2027-04-30T09:00:00Z',
};

describe('approval links', () => {
  it('use request ids of 128 random bits', () => {
    const ids = new Set(Array.from({ length: 1000 }, newApprovalRequestId));

    expect(ids.size).toBe(1000);
    expect(Buffer.from(link.requestId, 'base64url')).toHaveLength(16);
  });

  it('verify a signature made for the same request, action, approver and expiry', () => {
    expect(verifyApproval(link, 'approve', signApproval(link, 'approve', KEY), KEY)).toBe(true);
  });

  it('refuse a signature made for another action, approver, expiry or key', () => {
    const approve = signApproval(link, 'approve', KEY);

    expect(verifyApproval(link, 'reject', approve, KEY)).toBe(false);
    expect(
      verifyApproval({ ...link, approver: 'intern@financefirst.example' }, 'approve', approve, KEY),
    ).toBe(false);
    expect(verifyApproval({ ...link, expiresAt: '2099-01-01T00:00:00Z' }, 'approve', approve, KEY)).toBe(
      false,
    );
    expect(verifyApproval(link, 'approve', signApproval(link, 'approve', 'other-key'), KEY)).toBe(false);
  });

  it('carry the request id and signatures but never the signing key', () => {
    const url = reviewUrl('https://approvals.example/', link, KEY);

    expect(url.startsWith(`https://approvals.example/approvals/${link.requestId}?`)).toBe(true);
    expect(url).not.toContain(KEY);
  });
});
