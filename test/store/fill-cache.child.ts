/**
 * Run by processes.test.ts as a separate process: fills a cache from a repository server, the way a
 * build would, and prints the digests it got. Arguments: CACHE_DIR SERVER_URL [PACKAGE_NAME-VERSION]
 */
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { createFetchOptions, fetchIndex, fetchPackage } from '../../src/repo/fetch.ts';
import { parseRepositoryRef } from '../../src/repo/ref.ts';
import { repoDir } from '../helpers/repo-server.ts';

const [cacheDir, url, only] = process.argv.slice(2);
const options = await createFetchOptions({ cacheDir, env: {}, http: { retryDelayMs: 10 } });
const repo = parseRepositoryRef(`${url}/repo`);
const packages = readdirSync(join(repoDir, 'x86_64'))
  .filter((f) => f.endsWith('.apk') && (only === undefined || f === `${only}.apk`))
  .map((f) => /^(.*)-([^-]+-r\d+)\.apk$/.exec(f)!)
  .map((m) => ({ name: m[1]!, version: m[2]! }));
const index = await fetchIndex(repo, 'x86_64', options);
const fetched = await Promise.all(packages.map((p) => fetchPackage(repo, 'x86_64', p, options)));
const digests: Record<string, string> = { index: index.digest };
for (const [i, p] of packages.entries()) digests[p.name] = fetched[i]!.digest;
process.stdout.write(`${JSON.stringify(digests)}\n`);
