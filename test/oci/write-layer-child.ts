/**
 * Child process for the determinism and failure tests: writes the Alpine test layer with the given options
 * and prints the result (or the error code) as JSON. Usage: write-layer-child.ts CACHE_DIR OUT OPTIONS_JSON
 */
import { writeLayer } from '../../src/oci/layer.ts';
import { isLadingError } from '../../src/util/errors.ts';
import { alpineEntries } from '../helpers/oci-image.ts';

const [cacheDir, out, options] = process.argv.slice(2);
try {
  const layer = await writeLayer(alpineEntries(cacheDir!), out!, JSON.parse(options ?? '{}'));
  process.stdout.write(JSON.stringify(layer));
} catch (e) {
  process.stdout.write(
    JSON.stringify({ error: isLadingError(e) ? e.code : String(e), message: (e as Error).message }),
  );
}
