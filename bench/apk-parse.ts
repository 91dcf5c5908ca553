/**
 * Benchmark: parse + verify the Alpine v3.19 community APKINDEX (17,587 packages) and every fixture .apk,
 * in-process. Prints the median and best of several runs after a warm-up.
 * Run: ./node_modules/.bin/node bench/apk-parse.ts [runs]
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { readApk, readApkData, verifyApk } from '../src/apk/apk-reader.ts';
import { readApkIndex, verifyApkIndex } from '../src/apk/apkindex.ts';
import { type Keyring, loadKeyring } from '../src/apk/keyring.ts';
import { LadingError } from '../src/util/errors.ts';

const shared = process.env.LADING_SHARED ?? resolve(import.meta.dirname, '../../shared');
const fixtures = join(shared, 'fixtures');
const runs = Number(process.argv[2] ?? 15);

function stats(samples: number[]): string {
  const s = [...samples].sort((a, b) => a - b);
  return `median ${s[Math.floor(s.length / 2)]!.toFixed(1)} ms, best ${s[0]!.toFixed(1)} ms (${s.length} runs)`;
}

async function measure(label: string, fn: () => Promise<unknown> | unknown): Promise<void> {
  await fn(); // warm-up
  const samples: number[] = [];
  for (let i = 0; i < runs; i++) {
    const t = performance.now();
    await fn();
    samples.push(performance.now() - t);
  }
  process.stdout.write(`${label}: ${stats(samples)}\n`);
}

const keyring: Keyring = await loadKeyring([join(fixtures, 'alpine/keys'), join(fixtures, 'wolfi/keys')]);
const community = readFileSync(join(fixtures, 'alpine/indexes/v3.19-community-x86_64-APKINDEX.tar.gz'));
await measure('community APKINDEX read + verify (17,587 packages)', () => {
  const index = readApkIndex(community);
  if (verifyApkIndex(index, keyring).status !== 'OK' || index.packages.length !== 17587)
    throw new Error('bad index');
});

const apkFiles = execFileSync('find', [fixtures, '-name', '*.apk'], { encoding: 'utf8' })
  .trim()
  .split('\n')
  .sort();
const apks = apkFiles.map((f) => ({ file: f, buf: readFileSync(f) }));
const total = apks.reduce((n, a) => n + a.buf.length, 0);
let readable = 0;
await measure(`${apks.length} fixture .apk: control parse + C: + datahash + signature`, () => {
  readable = 0;
  for (const a of apks) {
    try {
      verifyApk(readApk(a.buf, { file: a.file, verifyDataHash: false }), keyring);
      readable++;
    } catch (e) {
      if (!(e instanceof LadingError)) throw e;
    }
  }
});
await measure(
  `same + data inflate (streamed, all at once) + entry checks (${(total / 1e6).toFixed(1)} MB)`,
  async () => {
    await Promise.all(
      apks.map(async (a) => {
        try {
          const apk = readApk(a.buf, { file: a.file, verifyDataHash: false });
          verifyApk(apk, keyring);
          await readApkData(apk);
        } catch (e) {
          if (!(e instanceof LadingError)) throw e;
        }
      }),
    );
  },
);
process.stdout.write(`(${readable} of ${apks.length} .apk files are well-formed packages)\n`);
