import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import type { GitRepository } from '../lambdas/application/versions.js';
import { UserFacingError } from '../lambdas/core/errors.js';

const run = promisify(execFile);

/** The git checkout at `cwd`, through the git command line. */
export function gitRepository(cwd: string): GitRepository {
  const git = async (...args: string[]) => (await run('git', args, { cwd })).stdout.trim();
  return {
    async head() {
      try {
        return await git('rev-parse', '--verify', 'HEAD^{commit}');
      } catch {
        throw new UserFacingError(
          `${cwd} is not a git checkout with a commit; nothing was registered or tagged. Fix: run create-tag --git inside the repository, or leave out --git`,
        );
      }
    },
    async tagCommit(tag) {
      try {
        return await git('rev-parse', '-q', '--verify', `refs/tags/${tag}^{commit}`);
      } catch {
        return undefined;
      }
    },
    async createAnnotatedTag(tag, message) {
      try {
        await git('tag', '-a', tag, '-m', message);
      } catch (error) {
        const detail = ((error as { stderr?: string }).stderr ?? (error as Error).message).trim();
        throw new UserFacingError(`git could not create the tag ${tag}: ${detail}`);
      }
    },
  };
}
