/**
 * The real apk-tools 2.14.4 (../shared/tools/apk-oracle) as the resolver's reference: `apk add --simulate`
 * of a world over local repositories, on an empty root made once, read back as the install order or the
 * "unable to select packages" tree. Shared by the differential tests and the scripts that regenerate their
 * golden answers.
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** What apk (or lading, rendered the same way) answers for a world. */
export interface Outcome {
  ok: boolean;
  /** `name[@tag]-version` in install order (empty when refused). */
  order: string[];
  /** The error text after "ERROR: " (the tree), '' when installed. */
  tree: string;
}

export interface OracleRepository {
  /** Directory holding `<arch>/APKINDEX.tar.gz`. */
  dir: string;
  tag?: string;
}

/** apk wraps its tree at 50 columns when not writing to a terminal: lading's explanations are asked for that. */
export const APK_WIDTH = 50;

export class ApkOracle {
  readonly root: string;
  private readonly dir: string;
  private readonly apk: string;
  private readonly arch: string;
  private lists = 0;

  /** Makes an empty root with `apk add --initdb`; call close() to remove it. */
  constructor(apk: string, arch = 'x86_64') {
    if (!existsSync(apk)) throw new Error(`missing ${apk}: is ../shared beside the checkout?`);
    this.apk = apk;
    this.arch = arch;
    this.dir = mkdtempSync(join(tmpdir(), 'lading-apk-oracle-'));
    this.root = join(this.dir, 'root');
    const init = spawnSync(apk, ['add', '--root', this.root, '--initdb', '--no-network', '--arch', arch], {
      encoding: 'utf8',
    });
    if (init.status !== 0) throw new Error(`apk --initdb failed: ${init.stderr}`);
  }

  close(): void {
    rmSync(this.dir, { recursive: true, force: true });
  }

  /**
   * `apk add --simulate WORLD…` over these repositories, in this order (given in a repositories file, as
   * /etc/apk/repositories: apk adds `--repository` options in reverse order); `keysDir` or untrusted indexes.
   */
  simulate(
    repositories: readonly OracleRepository[],
    world: readonly string[],
    keysDir?: string,
  ): Promise<Outcome> {
    const list = join(this.dir, `repositories-${this.lists++}`);
    writeFileSync(
      list,
      repositories.map((r) => (r.tag === undefined ? r.dir : `@${r.tag} ${r.dir}`)).join('\n'),
    );
    const args = [
      'add',
      '--root',
      this.root,
      '--simulate',
      '--no-network',
      '--no-cache',
      '--arch',
      this.arch,
    ];
    args.push(...(keysDir === undefined ? ['--allow-untrusted'] : ['--keys-dir', keysDir]));
    args.push('--repositories-file', list, '--', ...world);
    return new Promise((done, fail) => {
      const child = spawn(this.apk, args);
      let out = '';
      child.stdout.on('data', (d) => (out += d));
      child.stderr.on('data', (d) => (out += d));
      child.on('error', fail);
      child.on('close', () => {
        rmSync(list, { force: true });
        done(parseApkOutput(out));
      });
    });
  }
}

/** Reads `apk add --simulate` output: the "(i/n) Installing name (version)" lines, or the ERROR text. */
export function parseApkOutput(out: string): Outcome {
  const order = [...out.matchAll(/^\(\d+\/\d+\) Installing (\S+) \((\S+)\)$/gm)].map(
    (m) => `${m[1]}-${m[2]}`,
  );
  const at = out.indexOf('ERROR: ');
  return { ok: at === -1, order: at === -1 ? order : [], tree: at === -1 ? '' : out.slice(at + 7).trimEnd() };
}

/**
 * Runs `job` over `items` with `workers` at a time (apk processes: the machines have 2 cores), in order of
 * start; results in item order.
 */
export async function inParallel<T, R>(
  items: readonly T[],
  workers: number,
  job: (item: T) => Promise<R>,
): Promise<R[]> {
  const out = new Array<R>(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      out[i] = await job(items[i]!);
    }
  };
  await Promise.all(Array.from({ length: workers }, worker));
  return out;
}
