/** lading's version, from package.json (bundled by esbuild, read by Node's JSON import in tests). */
import packageJson from '../../package.json' with { type: 'json' };

export const LADING_VERSION: string = packageJson.version;
