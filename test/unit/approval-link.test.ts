import { describe, expect, it } from 'vitest';
import {
  confirmationCode,
  isApprovalRequestId,
  newApprovalRequestId,
  reviewUrl,
  signApproval,
  verifyApproval,
  verifyConfirmationCode,
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

  it('ask for a six-character confirmation code, easy to read, never in the link', () => {
    const code = confirmationCode(link, KEY);

    expect(code).toMatch(/^[A-HJ-NP-Z2-9]{6}$/);
    expect(reviewUrl('https://approvals.example/', link, KEY)).not.toContain(code);
  });

  it('accept the code however it is typed, and no other approver’s, expiry’s or key’s', () => {
    const code = confirmationCode(link, KEY);

    expect(verifyConfirmationCode(link, ` ${code.slice(0, 3).toLowerCase()}-${code.slice(3)} `, KEY)).toBe(
      true,
    );
    expect(verifyConfirmationCode(link, '', KEY)).toBe(false);
    expect(
      verifyConfirmationCode(link, confirmationCode({ ...link, approver: 'intern@x.example' }, KEY), KEY),
    ).toBe(false);
    expect(verifyConfirmationCode({ ...link, expiresAt: '2099-01-01T00:00:00Z' }, code, KEY)).toBe(false);
    expect(verifyConfirmationCode(link, confirmationCode(link, 'other-key'), KEY)).toBe(false);
  });

  it('know a request id only when it is URL-safe and at most 128 characters', () => {
    expect(isApprovalRequestId(link.requestId)).toBe(true);
    expect(isApprovalRequestId('a'.repeat(128))).toBe(true);
    expect(isApprovalRequestId('a'.repeat(129))).toBe(false);
    expect(isApprovalRequestId('')).toBe(false);
    expect(isApprovalRequestId('../x')).toBe(false);
  });
});
