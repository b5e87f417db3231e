import { SendTaskFailureCommand, SendTaskSuccessCommand } from '@aws-sdk/client-sfn';
import { stepFunctions } from './clients.js';

// A token can be answered only once; a second answer (a retried handler) is refused by Step Functions
// with one of these, which means the work was already done.
const ALREADY_ANSWERED = new Set(['TaskTimedOut', 'InvalidToken', 'TaskDoesNotExist']);

export async function resumeWithSuccess(token: string, output: Record<string, unknown>): Promise<void> {
  try {
    await stepFunctions().send(
      new SendTaskSuccessCommand({ taskToken: token, output: JSON.stringify(output) }),
    );
  } catch (error) {
    if (!ALREADY_ANSWERED.has((error as Error).name)) throw error;
  }
}

export async function resumeWithFailure(token: string, error: string, cause: string): Promise<void> {
  try {
    await stepFunctions().send(new SendTaskFailureCommand({ taskToken: token, error, cause }));
  } catch (failure) {
    if (!ALREADY_ANSWERED.has((failure as Error).name)) throw failure;
  }
}
