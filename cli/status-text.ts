import { DateTime } from 'luxon';
import type {
  BatchStatus,
  CustomerStatusReport,
  GateStatus,
  OutcomeCounts,
  ReleaseStatusReport,
} from '../lambdas/application/status.js';

// check-status for people: the headline first (version, status, why), then a table per phase and batch,
// what waits on a person (paused gates, pending approvals), the release's quality and what comes next.

export function when(iso: string): string {
  const instant = DateTime.fromISO(iso, { zone: 'utc' });
  return instant.isValid ? `${instant.toFormat('yyyy-MM-dd HH:mm')} UTC` : iso;
}

/** "3 d 4 h", "5 h 12 min", "7 min". */
export function age(seconds: number): string {
  const days = Math.floor(seconds / 86_400);
  const hours = Math.floor((seconds % 86_400) / 3_600);
  const minutes = Math.floor((seconds % 3_600) / 60);
  if (days > 0) return `${days} d ${hours} h`;
  if (hours > 0) return `${hours} h ${minutes} min`;
  return `${minutes} min`;
}

/** Columns padded to their widest cell; numbers (right-aligned) are the columns named in `right`. */
export function table(header: string[], rows: string[][], right: ReadonlySet<number> = new Set()): string[] {
  const widths = header.map((title, column) =>
    Math.max(title.length, ...rows.map((cells) => (cells[column] ?? '').length)),
  );
  const line = (cells: string[]) =>
    cells
      .map((cell, column) =>
        right.has(column) ? cell.padStart(widths[column] ?? 0) : cell.padEnd(widths[column] ?? 0),
      )
      .join('  ')
      .trimEnd();
  return [line(header), ...rows.map(line)];
}

const PROGRESS: Record<BatchStatus['progress'], string> = {
  'not-started': 'not started',
  'in-progress': 'in progress',
  complete: 'complete',
};

function headline(status: ReleaseStatusReport): string {
  const state = status.status.toUpperCase();
  if (status.pause)
    return `${status.release} · ${state} · ${status.pause.reason} (since ${when(status.pause.since)}, by ${status.pause.by})`;
  if (status.status === 'aborted')
    return `${status.release} · ABORTED · ${status.abortReason ?? ''}`.trimEnd();
  return `${status.release} · ${state}`;
}

function gateText(gate: GateStatus | undefined): string {
  if (!gate) return '—';
  return gate.passed ? 'passed' : `FAILED: ${gate.reason}`;
}

function countCells(counts: OutcomeCounts): string[] {
  const other = counts.rejected + counts.deferred + counts.held + counts.cancelled;
  return [
    String(counts.total),
    String(counts.deployed),
    String(counts.failed),
    String(other),
    String(counts.inFlight),
    String(counts.rolledBack + counts.rollbackFailed),
    String(counts.withoutHealthReport),
  ];
}

export function renderReleaseStatus(status: ReleaseStatusReport): string {
  const lines = [headline(status)];
  const { counts } = status;
  lines.push(
    `as of ${when(status.asOf)} · release ${when(status.startAt)} → ${when(status.endAt)}`,
    `customers ${counts.total}: deployed ${counts.deployed}, failed ${counts.failed}, rejected ${counts.rejected}, deferred ${counts.deferred}, held ${counts.held}, cancelled ${counts.cancelled}, superseded ${counts.superseded}, in flight ${counts.inFlight}; rolled back ${counts.rolledBack}, rollback failed ${counts.rollbackFailed}`,
  );
  if (status.pause?.awaitingDecisionIn)
    lines.push(`awaiting a decision in "${status.pause.awaitingDecisionIn}"`);
  if (status.nextEvent)
    lines.push(
      `next: ${when(status.nextEvent.at)} · ${status.nextEvent.description}${status.pause ? ' (on hold until resumed)' : ''}`,
    );
  if (status.fleetChangedSincePlanning !== undefined)
    lines.push(
      status.fleetChangedSincePlanning
        ? 'fleet changed since planning: yes (this release goes on with the fleet it was planned with)'
        : 'fleet changed since planning: no',
    );

  const rows: string[][] = [];
  for (const phase of status.phases) {
    rows.push([
      phase.displayName,
      when(phase.startAt),
      PROGRESS[phase.progress],
      ...countCells(phase.counts),
      gateText(phase.gate),
    ]);
    for (const batch of phase.batches)
      rows.push([
        batch.oneAtATime ? '  one at a time' : `  batch ${batch.position} of ${batch.of}`,
        when(batch.opensAt),
        PROGRESS[batch.progress],
        ...countCells(batch.counts),
        gateText(batch.gate),
      ]);
  }
  lines.push(
    '',
    ...table(
      [
        'phase / batch',
        'opens',
        'progress',
        'total',
        'deployed',
        'failed',
        'other',
        'in flight',
        'rolled back',
        'no health report',
        'gate',
      ],
      rows,
      new Set([3, 4, 5, 6, 7, 8, 9]),
    ),
  );

  if (status.openHalts.length > 0) {
    lines.push('', 'Open halts');
    for (const halt of status.openHalts)
      lines.push(`  ${halt.scope} · since ${when(halt.from)} · by ${halt.by} · ${halt.reason}`);
  }
  if (status.pausedGates.length > 0) {
    lines.push(
      '',
      'Paused gates (resume accepts the result, abort ends the release, rollback --batch rolls it back)',
    );
    for (const gate of status.pausedGates)
      lines.push(`  ${gate.gate} · since ${when(gate.since)} · ${gate.reason}`);
  }
  lines.push(
    '',
    `Pending approvals: ${status.pendingApprovals.length}${status.morePendingApprovals ? '+ (the oldest shown)' : ''}`,
  );
  if (status.pendingApprovals.length > 0)
    lines.push(
      ...table(
        ['  customer', 'for', 'asked', 'age', 'expires'],
        status.pendingApprovals.map((approval) => [
          `  ${approval.customerName}`,
          approval.purpose,
          when(approval.askedAt),
          age(approval.ageSeconds),
          `${when(approval.expiresAt)}${approval.expired ? ' (expired)' : ''}`,
        ]),
      ),
    );

  const { figures, limits, breaches } = status.quality;
  lines.push(
    '',
    ...table(
      ['Release quality', 'now', 'limit'],
      [
        ['  rollback rate', `${figures.rollbackRatePercent}%`, `${limits.maxRollbackRatePercent}%`],
        ['  critical issues', String(figures.criticalIssues), String(limits.maxCriticalIssues)],
        [
          '  performance impact',
          `${figures.performanceImpactPercent}%`,
          `${limits.maxPerformanceImpactPercent}%`,
        ],
        [
          '  support ticket increase',
          `${figures.supportTicketIncreasePercent}%`,
          `${limits.maxSupportTicketIncreasePercent}%`,
        ],
      ],
      new Set([1, 2]),
    ),
    breaches.length ? `  BREACHED: ${breaches.join('; ')}` : '  within every limit',
  );
  if (status.upcoming.length > 0) {
    lines.push('', 'Upcoming');
    for (const event of status.upcoming) lines.push(`  ${when(event.at)} · ${event.description}`);
  }
  return `${lines.join('\n')}\n`;
}

export function renderCustomerStatus(status: CustomerStatusReport): string {
  const { customer, planned, approval, deployment, rollback } = status;
  const lines = [
    `${customer.name} (${customer.id}) · ${status.state.toUpperCase()} in ${status.release} (${status.releaseStatus})`,
    `policy ${customer.policy} · phase ${customer.phase} · batch ${customer.batch} (step ${customer.step}) · as of ${when(status.asOf)}`,
  ];
  if (status.halt)
    lines.push(`halted since ${when(status.halt.from)} by ${status.halt.by}: ${status.halt.reason}`);
  lines.push(
    `notice      ${planned.noticeAt ? when(planned.noticeAt) : 'none'}${status.notice.sentAt ? ` · sent ${when(status.notice.sentAt)}` : ''}`,
    `deployment  ${planned.deployAt ? when(planned.deployAt) : `unschedulable${planned.unschedulableReason ? `: ${planned.unschedulableReason}` : ''}`}${planned.scheduledAt && planned.scheduledAt !== planned.deployAt ? ` · now scheduled ${when(planned.scheduledAt)}` : ''} · deadline ${when(planned.deadlineAt)} · window ${planned.window.days.join(',')} ${planned.window.start} for ${planned.window.durationMinutes} min ${planned.window.timeZone}`,
  );
  if (approval.required)
    lines.push(
      `approval    ${
        approval.decision
          ? `${approval.decision} by ${approval.by ?? '?'}${approval.decidedAt ? ` at ${when(approval.decidedAt)}` : ''}`
          : approval.askedAt
            ? `asked ${when(approval.askedAt)}${approval.pendingSeconds !== undefined ? `, pending for ${age(approval.pendingSeconds)}` : ''}`
            : 'not asked yet'
      }`,
    );
  if (deployment.requestedAt)
    lines.push(
      `deployed    ${deployment.status ?? 'requested'}${deployment.deployedAt ? ` at ${when(deployment.deployedAt)}` : ''}${deployment.reason ? ` · ${deployment.reason}` : ''}`,
    );
  if (rollback)
    lines.push(
      `rollback    ${rollback.status ?? 'asked'} · ${rollback.trigger ?? ''}: ${rollback.reason ?? ''} · asked ${rollback.requestedAt ? when(rollback.requestedAt) : ''} by ${rollback.requestedBy ?? ''}${rollback.rolledBackAt ? ` · rolled back ${when(rollback.rolledBackAt)}` : ''}${rollback.failureReason ? ` · ${rollback.failureReason}` : ''}`,
    );
  lines.push('', 'History');
  for (const entry of status.history)
    lines.push(
      `  ${when(entry.at)}  ${entry.state.padEnd(20)} ${entry.by}${entry.reason ? ` · ${entry.reason}` : ''}`,
    );
  return `${lines.join('\n')}\n`;
}
