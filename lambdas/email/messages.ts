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

/** To a customer already given a date, when a halt postpones its upgrade. */
export function upgradePostponed(input: { customerName: string; release: string; reason: string }): Message {
  const lines = [
    `Hello ${input.customerName},`,
    `The rollout of SecureWatch ${input.release} has been paused, so the upgrade we announced for your environment will not happen on the date we gave.`,
    `Reason: ${input.reason}`,
    'Nothing changes in your environment meanwhile. When the rollout continues, you will receive the new date before anything is deployed.',
  ];
  return {
    subject: `Postponed: SecureWatch ${input.release} for ${input.customerName}`,
    text: lines.join('\n\n'),
    html: paragraphs(lines),
  };
}

/** To a customer whose deployment date moved after its notice (a halt, a late approval, a window shift). */
export function updatedNotice(input: {
  customerName: string;
  release: string;
  deployAt: string;
  previousDeployAt: string;
  timeZone: string;
}): Message {
  const when = `${localTime(input.deployAt, input.timeZone)} (${input.deployAt} UTC)`;
  const lines = [
    `Hello ${input.customerName},`,
    `The upgrade of your environment to SecureWatch ${input.release} has moved from ${localTime(input.previousDeployAt, input.timeZone)} to your maintenance window starting ${when}.`,
    'It is a minor release: backward compatible, with no breaking changes. Reply to this email if the new date does not suit you.',
  ];
  return {
    subject: `New date: SecureWatch ${input.release} for ${input.customerName}`,
    text: lines.join('\n\n'),
    html: paragraphs(lines),
  };
}

/** To a customer already given a date, when the release is aborted before its upgrade. */
export function upgradeCancelled(input: { customerName: string; release: string; reason: string }): Message {
  const lines = [
    `Hello ${input.customerName},`,
    `The rollout of SecureWatch ${input.release} has been stopped. The upgrade we announced for your environment is cancelled and your environment stays on its current version.`,
    `Reason: ${input.reason}`,
    'You will receive a new notice before any later release is deployed.',
  ];
  return {
    subject: `Cancelled: SecureWatch ${input.release} for ${input.customerName}`,
    text: lines.join('\n\n'),
    html: paragraphs(lines),
  };
}

/** To the escalation contacts: a halt, a resume, an abort or a pause still awaiting a decision. */
export function releaseControl(input: {
  release: string;
  what: 'halted' | 'resumed' | 'aborted' | 'still paused' | 'paused';
  reason: string;
  by: string;
  scope?: string;
  next: string;
}): Message {
  const lines = [
    `The rollout of SecureWatch ${input.release}${input.scope ? ` (${input.scope})` : ''} is ${input.what}.`,
    `Reason: ${input.reason}`,
    `By: ${input.by}`,
    `What comes next: ${input.next}`,
  ];
  return {
    subject: `${input.what.toUpperCase()}: SecureWatch ${input.release} rollout`,
    text: lines.join('\n\n'),
    html: paragraphs(lines),
  };
}

/** To the escalation contacts (the release manager): a rollback a trigger or a person asked for was refused. */
export function rollbackRefused(input: {
  release: string;
  customerName: string;
  customerId: string;
  trigger: string;
  asked: string;
  refusal: string;
}): Message {
  const lines = [
    `A rollback of ${input.customerName} (${input.customerId}) from SecureWatch ${input.release} was asked for and refused.`,
    `Trigger: ${input.trigger} — ${input.asked}`,
    `Refused because ${input.refusal}.`,
    'The customer stays on the release. Decide on a fix going forward (a next release) with the customer.',
  ];
  return {
    subject: `ROLLBACK REFUSED: ${input.customerName} on SecureWatch ${input.release}`,
    text: lines.join('\n\n'),
    html: paragraphs(lines),
  };
}

// Rollbacks (the rollback workflow): to the customer, its approvers and the escalation contacts.

/** To an enterprise customer's contacts: a rollback is proposed and awaits their stakeholders' approval. */
export function rollbackProposed(input: { customerName: string; release: string; reason: string }): Message {
  const lines = [
    `Hello ${input.customerName},`,
    `We propose to roll your environment back from SecureWatch ${input.release} to its previous version.`,
    `Reason: ${input.reason}`,
    'Your approvers receive a separate request. Nothing is rolled back without their approval; once approved, the rollback runs in your next maintenance window.',
  ];
  return {
    subject: `Rollback proposed: SecureWatch ${input.release} for ${input.customerName}`,
    text: lines.join('\n\n'),
    html: paragraphs(lines),
  };
}

/** To an approver: a ROLLBACK request, with the review link (opening it decides nothing). */
export function rollbackApprovalRequest(input: {
  customerName: string;
  approverName: string;
  release: string;
  reason: string;
  expiresAt: string;
  reviewUrl: string;
}): Message {
  const lines = [
    `Hello ${input.approverName},`,
    `ROLLBACK REQUEST: we propose to roll ${input.customerName} back from SecureWatch ${input.release} to its previous version.`,
    `Reason: ${input.reason}`,
    `Once you approve, it is rolled back in its next maintenance window. If you reject, or nobody decides by ${input.expiresAt}, it stays on ${input.release}.`,
    'Open the link below to review the request and approve or reject it. Opening the link alone changes nothing.',
  ];
  return {
    subject: `Rollback approval needed: SecureWatch ${input.release} for ${input.customerName}`,
    text: `${lines.join('\n\n')}\n\nReview: ${input.reviewUrl}`,
    html: `${paragraphs(lines)}\n<p><a href="${escapeHtml(input.reviewUrl)}">Review the ${escapeHtml(input.release)} rollback request</a></p>`,
  };
}

/** To a customer's contacts, once its environment is back on its previous version. */
export function rolledBack(input: {
  customerName: string;
  release: string;
  reason: string;
  monitoringHours?: number;
}): Message {
  const lines = [
    `Hello ${input.customerName},`,
    `Your environment has been rolled back from SecureWatch ${input.release} to its previous version.`,
    `Reason: ${input.reason}`,
    input.monitoringHours
      ? `We are watching its health for the next ${input.monitoringHours} hours and will write to you again then.`
      : 'We are working on a fixed version and will tell you before it is deployed.',
  ];
  return {
    subject: `Rolled back: SecureWatch ${input.release} for ${input.customerName}`,
    text: lines.join('\n\n'),
    html: paragraphs(lines),
  };
}

/** To a customer's contacts after the health monitoring that follows an automatic rollback. */
export function rollbackFollowUp(input: { customerName: string; release: string; health: string }): Message {
  const lines = [
    `Hello ${input.customerName},`,
    `Following the rollback of SecureWatch ${input.release} in your environment, we monitored its health.`,
    `Health since the rollback: ${input.health}`,
    'We will tell you before a fixed version is deployed. Reply to this email with any question.',
  ];
  return {
    subject: `Follow-up: SecureWatch ${input.release} rollback for ${input.customerName}`,
    text: lines.join('\n\n'),
    html: paragraphs(lines),
  };
}

/** After an approved rollback and its validation: what happened, when, decided by whom. */
export function rollbackIncidentReport(input: {
  customerName: string;
  release: string;
  timeline: string[];
  health: string;
}): Message {
  const lines = [
    `Incident report: rollback of SecureWatch ${input.release} for ${input.customerName}.`,
    ...input.timeline,
    `Post-rollback validation: ${input.health}`,
  ];
  return {
    subject: `Incident report: SecureWatch ${input.release} rolled back for ${input.customerName}`,
    text: lines.join('\n\n'),
    html: paragraphs(lines),
  };
}

/** To the escalation contacts: a rollback that will not happen (rejected or unanswered) or that failed. */
export function rollbackEscalation(input: {
  customerName: string;
  release: string;
  what: 'not approved' | 'failed';
  reason: string;
  next: string;
}): Message {
  const lines = [
    `The rollback of SecureWatch ${input.release} for ${input.customerName} ${input.what === 'failed' ? 'FAILED' : 'was not approved'}.`,
    `Reason: ${input.reason}`,
    `What comes next: ${input.next}`,
  ];
  return {
    subject: `${input.what === 'failed' ? 'ROLLBACK FAILED' : 'Rollback not approved'}: SecureWatch ${input.release} for ${input.customerName}`,
    text: lines.join('\n\n'),
    html: paragraphs(lines),
  };
}
