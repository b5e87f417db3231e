import { claimReleaseMarker, releaseReleaseMarker } from '../store/releases.js';
import { now } from './clock.js';

/**
 * Runs a side effect (an email, an event) at most once per release and marker, however often the task
 * runs. A failed effect gives the marker back, so the retry tries again.
 */
export async function oncePerRelease(
  release: string,
  marker: string,
  effect: () => Promise<void>,
): Promise<void> {
  if (!(await claimReleaseMarker(release, marker, now()))) return;
  try {
    await effect();
  } catch (error) {
    await releaseReleaseMarker(release, marker);
    throw error;
  }
}
