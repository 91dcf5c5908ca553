/** lading's version, from package.json (bundled by esbuild, read by Node's JSON import in tests). */
import packageJson from '../../package.json' with { type: 'json' };

declare const __LADING_BUILD_ID__: string;

export const LADING_VERSION: string = packageJson.version;

/**
 * Identifies this build of lading: a hash of its sources, set when bundling (scripts/build.mjs); 'dev' when
 * running from source. Caches of derived results (resolutions, build records) are keyed by it, so a changed
 * lading never reuses an old answer.
 */
export const LADING_BUILD_ID: string =
  typeof __LADING_BUILD_ID__ === 'string' ? __LADING_BUILD_ID__ : `dev-${LADING_VERSION}`;
