import { resumeWithFailure, resumeWithSuccess } from './step-functions.js';

// How the customer rollout's two callback waits are answered, in one place: the outputs and error names
// here are what the state machine's Choice and Catch read.

/** Answers "Ask approvers": an approval carries on, a rejection fails the wait with `Approval.Rejected`. */
export async function answerApprovalWait(
  taskToken: string,
  decision: 'approved' | 'rejected',
  approver: string,
): Promise<void> {
  if (decision === 'approved') await resumeWithSuccess(taskToken, { decision, approvedBy: approver });
  else await resumeWithFailure(taskToken, 'Approval.Rejected', `Rejected by ${approver}`);
}

/**
 * Answers "Deploy and await report" with the platform's report: success carries on, failure fails the wait
 * with `Deployment.Failed`. Returns false, answering nothing, while no report is in.
 */
export async function answerDeploymentWait(
  taskToken: string,
  report: {
    deploymentStatus?: 'requested' | 'succeeded' | 'failed';
    deployedAt?: string;
    deploymentReason?: string;
  },
): Promise<boolean> {
  if (report.deploymentStatus === 'succeeded') {
    await resumeWithSuccess(taskToken, { status: 'succeeded', deployedAt: report.deployedAt ?? null });
    return true;
  }
  if (report.deploymentStatus === 'failed') {
    await resumeWithFailure(taskToken, 'Deployment.Failed', report.deploymentReason ?? 'deployment failed');
    return true;
  }
  return false;
}

/**
 * Answers "… await platform report" of a rollback with the platform's answer: success carries on, failure
 * fails the wait with `Rollback.Failed`. Returns false, answering nothing, while no answer is in.
 */
export async function answerRollbackWait(
  taskToken: string,
  report: {
    rollbackStatus?: 'requested' | 'succeeded' | 'failed';
    rolledBackAt?: string;
    rollbackFailureReason?: string;
  },
): Promise<boolean> {
  if (report.rollbackStatus === 'succeeded') {
    await resumeWithSuccess(taskToken, { status: 'succeeded', rolledBackAt: report.rolledBackAt ?? null });
    return true;
  }
  if (report.rollbackStatus === 'failed') {
    await resumeWithFailure(taskToken, 'Rollback.Failed', report.rollbackFailureReason ?? 'rollback failed');
    return true;
  }
  return false;
}
