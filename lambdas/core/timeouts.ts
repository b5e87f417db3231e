// Durations the plan and the state machines must agree on, so the preview is what the execution does.

/**
 * How long the platform has to report a requested deployment before it counts as failed. A step (batch)
 * is done, at the latest, this long after its last deployment starts; the next step never opens earlier.
 */
export const DEPLOYMENT_REPORT_TIMEOUT_HOURS = 6;

/**
 * One-at-a-time phases (enterprise) deploy a customer no earlier than this long after the previous one's
 * deployment started: its report timeout, and an hour for its outcome to be recorded and gated.
 */
export const ONE_AT_A_TIME_GAP_HOURS = DEPLOYMENT_REPORT_TIMEOUT_HOURS + 1;

/** How long past its customers' deadline and report timeout a step's wait still waits for an outcome. */
export const STEP_WAIT_MARGIN_HOURS = 24;

/** The shortest step wait, so that customers resumed past their deadline still have time to be held. */
export const MIN_STEP_WAIT_SECONDS = 3_600;
