/**
 * How lading was started, captured before anything changes the working directory (-C): the no-op build
 * records are keyed by it. Set once by the entry point.
 */
import { LADING_BUILD_ID } from '../util/version.ts';

export const invocation = {
  args: process.argv.slice(2),
  cwd: process.cwd(),
  /** Identifies the lading build (a hash of its sources); 'dev' when run from source. */
  buildId: LADING_BUILD_ID,
};
