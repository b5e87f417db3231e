import { DateTime } from 'luxon';

// What the orchestrator says to people. Pure functions: subject, text and HTML bodies, never a secret.

export interface Message {
  subject: string;
  text: string;
  html: string;
}

export function localTime(iso: string, timeZone: string): string {
  return DateTime.fromISO(iso, { zone: 'utc' }).setZone(timeZone).toFormat("ccc yyyy-LL-dd HH:mm '('ZZZZ')'");
}

function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

function paragraphs(lines: string[]): string {
  return lines.map((line) => `<p>${escapeHtml(line)}</p>`).join('\n');
}

export function advanceNotice(input: {
  customerName: string;
  release: string;
  deployAt: string;
  timeZone: string;
  approvalRequired: boolean;
}): Message {
  const when = `${localTime(input.deployAt, input.timeZone)} (${input.deployAt} UTC)`;
  const lines = [
    `Hello ${input.customerName},`,
    `SecureWatch ${input.release} is scheduled for your environment in your maintenance window starting ${when}.`,
    'It is a minor release: backward compatible, with no breaking changes to APIs, database schema or configuration.',
    input.approvalRequired
      ? 'Your approvers will receive a separate request; nothing is deployed without their approval.'
      : 'No action is needed. Reply to this email if the date does not suit you.',
  ];
  return {
    subject: `SecureWatch ${input.release} is scheduled for ${input.customerName}`,
    text: lines.join('\n\n'),
    html: paragraphs(lines),
  };
}

export function approvalRequest(input: {
  customerName: string;
  approverName: string;
  release: string;
  deployAt: string;
  timeZone: string;
  reviewUrl: string;
}): Message {
  const when = `${localTime(input.deployAt, input.timeZone)} (${input.deployAt} UTC)`;
  const lines = [
    `Hello ${input.approverName},`,
    `SecureWatch ${input.release} is ready for ${input.customerName}. It will be deployed in your maintenance window starting ${when} once you approve.`,
    'Open the link below to review the request and approve or reject it. Opening the link alone changes nothing.',
  ];
  return {
    subject: `Approval needed: SecureWatch ${input.release} for ${input.customerName}`,
    text: `${lines.join('\n\n')}\n\nReview: ${input.reviewUrl}`,
    html: `${paragraphs(lines)}\n<p><a href="${escapeHtml(input.reviewUrl)}">Review the ${escapeHtml(input.release)} deployment request</a></p>`,
  };
}

export function releaseHalted(input: { release: string; reason: string }): Message {
  const lines = [
    `The rollout of SecureWatch ${input.release} has been halted.`,
    `Reason: ${input.reason}`,
    'No further customer is deployed until the release is resumed.',
  ];
  return {
    subject: `HALTED: SecureWatch ${input.release} rollout`,
    text: lines.join('\n\n'),
    html: paragraphs(lines),
  };
}

export function releaseCompleted(input: { release: string; summary: Record<string, number> }): Message {
  const lines = [
    `The rollout of SecureWatch ${input.release} is complete.`,
    ...Object.entries(input.summary).map(([name, count]) => `${name}: ${count}`),
  ];
  return {
    subject: `Completed: SecureWatch ${input.release} rollout`,
    text: lines.join('\n\n'),
    html: paragraphs(lines),
  };
}
