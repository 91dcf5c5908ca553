/**
 * Publish records: the no-op re-publish. A `lading publish …` that pushed an image from local inputs records
 * what it read (as a build record does) and the tags it wrote with the index digest; running the same command
 * again with unchanged inputs then asks the registry only one HEAD per tag and, when every tag still names that
 * digest, prints the same `REPO@digest` without loading the rest of lading. Any doubt — a changed input, a tag
 * that moved or cannot be read without credentials, a registry that does not answer — falls through to the real
 * command, which asks the registry itself.
 * This module and its imports are small: the fast path loads it before anything else.
 */
import { resolve } from 'node:path';
import { defaultCacheDir } from '../store/default-dir.ts';
import { checkRecord, describeInputs, recordKey, recordPath, writeRecord } from './build-record.ts';
import { invocation } from './invocation.ts';

const ACCEPT = [
  'application/vnd.oci.image.index.v1+json',
  'application/vnd.oci.image.manifest.v1+json',
  'application/vnd.docker.distribution.manifest.list.v2+json',
  'application/vnd.docker.distribution.manifest.v2+json',
].join(', ');

interface PublishExtra {
  /** `<origin>/v2/<repository>/manifests/<tag>` for every tag written. */
  tags: string[];
  digest: string;
}

/** Whether every tag still names the digest (one HEAD each, at once; anonymous: a 401 is a no). */
async function tagsStillName(extra: PublishExtra): Promise<boolean> {
  const answers = await Promise.all(
    extra.tags.map(async (url) => {
      try {
        const res = await fetch(url, {
          method: 'HEAD',
          headers: { accept: ACCEPT },
          redirect: 'manual',
          signal: AbortSignal.timeout(5000),
        });
        return res.status === 200 && res.headers.get('docker-content-digest') === extra.digest;
      } catch {
        return false;
      }
    }),
  );
  return answers.length > 0 && answers.every(Boolean);
}

/** Replays a valid publish record (after asking the registry) and returns true, or returns false. */
export async function tryNoopPublish(cacheDir: string): Promise<boolean> {
  const key = recordKey(invocation.args, invocation.cwd, process.env, invocation.buildId);
  const record = checkRecord(recordPath(cacheDir, key), key);
  const extra = record?.extra as PublishExtra | undefined;
  if (!record || !extra || !Array.isArray(extra.tags) || typeof extra.digest !== 'string') return false;
  if (!(await tagsStillName(extra))) return false;
  process.stderr.write(record.stderr);
  process.stdout.write(record.stdout);
  return true;
}

/** Saves the record of a finished publish under the key of this command line (best effort). */
export function savePublishRecord(
  result: {
    inputs: { hashed: { path: string; sha256: string }[]; statted: string[] };
    digest: string;
    tagUrls: string[];
  },
  outputs: readonly string[],
  cacheDirFlag: string | undefined,
  stdout: string,
  stderr: string,
): void {
  try {
    const cacheDir = cacheDirFlag ? resolve(invocation.cwd, cacheDirFlag) : defaultCacheDir();
    const key = recordKey(invocation.args, invocation.cwd, process.env, invocation.buildId);
    const extra: PublishExtra = { tags: result.tagUrls, digest: result.digest };
    writeRecord(
      recordPath(cacheDir, key),
      key,
      describeInputs(result.inputs.hashed, result.inputs.statted),
      outputs,
      stdout,
      stderr,
      extra as unknown as Record<string, unknown>,
    );
  } catch {
    // a record is only an optimisation: never fail a finished publish over it
  }
}
