import type { Command } from 'commander';
import { signingOptions } from '../options.ts';
import { action, collect } from '../run.ts';

interface PackageOptions {
  output: string;
  name: string;
  version?: string;
  pkgver?: string;
  arch?: string;
  description?: string;
  license?: string;
  origin?: string;
  url?: string;
  maintainer?: string;
  packager?: string;
  commit?: string;
  depends?: string[];
  provides?: string[];
  replaces?: string[];
  installIf?: string[];
  providerPriority?: string;
  replacesPriority?: string;
  script?: string[];
  trigger?: string[];
  key?: string;
  keyName?: string;
  sha1?: boolean;
  rootOwned?: boolean;
}

/** Repeatable list flags accept `-x a -x b`, `-x a,b` and `-x "a b"`. */
const words = (values: string[] = []): string[] =>
  values.flatMap((v) => v.split(/\s+/)).filter((v) => v.length > 0);

async function priority(flag: string, value: string | undefined): Promise<number | undefined> {
  if (value === undefined) return undefined;
  if (!/^[0-9]+$/.test(value)) {
    const { LadingError } = await import('../../util/errors.ts');
    throw new LadingError('CLI_BAD_NUMBER', `${flag} must be a whole number, not ${JSON.stringify(value)}`);
  }
  return Number(value);
}

/** `lading package DIR`: an APK package of a directory tree. */
export function registerPackage(program: Command): void {
  const cmd = program
    .command('package')
    .description(
      "build an .apk package from a directory tree (owners, modes, links kept; .PKGINFO as abuild's)",
    )
    .argument('<dir>', 'directory whose contents become the package (DIR/usr/bin/x installs as /usr/bin/x)')
    .requiredOption('-o, --output <file>', 'the .apk to write, e.g. NAME-VERSION.apk')
    .requiredOption('--name <name>', 'package name (pkgname)')
    .option('--version <version>', 'package version with release, e.g. 1.2.3-r0 (pkgver); required')
    .option('--pkgver <version>', 'the same as --version')
    .option('--arch <arch>', 'architecture: x86_64, aarch64, … or noarch (default: this machine’s)')
    .option('--description <text>', 'one-line description (pkgdesc)')
    .option('--license <spdx>', 'licence expression, e.g. MIT or "GPL-2.0-only AND MIT"')
    .option('--origin <name>', 'source package name (default: the package name)')
    .option('--url <url>', 'project home page')
    .option('--maintainer <who>', 'maintainer, e.g. "Name <mail@example.com>"')
    .option('--packager <who>', 'who built the package')
    .option('--commit <sha>', 'source commit the package was built from')
    .option(
      '--depends <dep>',
      'dependency, e.g. musl, "so:libc.musl-x86_64.so.1", "busybox>=1.36"; repeatable',
      collect,
    )
    .option(
      '--provides <name>',
      'virtual name this package provides, e.g. cmd:tool=1.2.3-r0; repeatable',
      collect,
    )
    .option('--replaces <name>', 'package whose files this one may overwrite; repeatable', collect)
    .option(
      '--install-if <dep>',
      'install automatically when all of these are installed; repeatable',
      collect,
    )
    .option('--provider-priority <n>', 'priority among packages providing the same name (higher wins)')
    .option('--replaces-priority <n>', 'priority for file overwrites between replacing packages')
    .option(
      '--script <type=file>',
      'package script: pre-install, post-install, pre-upgrade, post-upgrade, pre-deinstall, post-deinstall or trigger; repeatable',
      collect,
    )
    .option(
      '--trigger <glob>',
      'directory glob that runs the trigger script (needs --script trigger=FILE); repeatable',
      collect,
    );
  signingOptions(cmd)
    .option('--root-owned', 'record every file as owned by root:root instead of the owners on disk')
    .addHelpText(
      'after',
      `
Reproducible: entries are sorted, every mtime and builddate is SOURCE_DATE_EPOCH (default 0), owner
names are not taken from this machine, and compression settings are fixed, so the same directory,
flags and key give the same bytes. Files sharing an inode become hardlinks; device nodes and FIFOs
are kept; setuid/setgid bits are kept. Extended attributes are not read.
lading and apko fetch a package from the directory of the index that lists it (REPO/ARCH/); apk-tools
2 fetches from REPO/<the package's arch>/, so a noarch package must also be in REPO/noarch/ for apk.`,
    )
    .action(
      action(async (dir: string, opts: PackageOptions) => {
        const { readFile } = await import('node:fs/promises');
        const { LadingError } = await import('../../util/errors.ts');
        const { createApk, readSourceTree, sourceDateEpoch } = await import('../../apk/apk-writer.ts');
        const { loadSigningKey } = await import('../../apk/signature.ts');
        const { writeFileAtomic } = await import('../../util/write-file.ts');
        const scripts: { name: string; data: Buffer }[] = [];
        for (const s of opts.script ?? []) {
          const eq = s.indexOf('=');
          if (eq <= 0) {
            throw new LadingError('CLI_BAD_SCRIPT', `--script ${JSON.stringify(s)} is not TYPE=FILE`, {
              hint: 'e.g. --script post-install=./post-install.sh',
            });
          }
          const file = s.slice(eq + 1);
          const data = await readFile(file).catch((e: NodeJS.ErrnoException) => {
            throw new LadingError('CLI_BAD_SCRIPT', `cannot read script (${e.code})`, { file });
          });
          scripts.push({ name: `.${s.slice(0, eq)}`, data });
        }
        const version = opts.version ?? opts.pkgver;
        if (version === undefined) {
          throw new LadingError('CLI_MISSING_VERSION', 'the package version is required', {
            hint: 'pass --version VERSION (e.g. 1.0.0-r0)',
          });
        }
        const buildTime = sourceDateEpoch();
        const signingKey = opts.key ? await loadSigningKey(opts.key, opts.keyName) : undefined;
        const entries = await readSourceTree(dir, { rootOwned: opts.rootOwned, exclude: [opts.output] });
        const created = createApk(
          {
            name: opts.name,
            version,
            arch: opts.arch,
            description: opts.description,
            license: opts.license,
            origin: opts.origin,
            url: opts.url,
            maintainer: opts.maintainer,
            packager: opts.packager,
            commit: opts.commit,
            depends: words(opts.depends),
            provides: words(opts.provides),
            replaces: words(opts.replaces),
            installIf: words(opts.installIf),
            providerPriority: await priority('--provider-priority', opts.providerPriority),
            replacesPriority: await priority('--replaces-priority', opts.replacesPriority),
            triggers: words(opts.trigger),
          },
          entries,
          { signingKey, algorithm: opts.sha1 ? 'RSA' : 'RSA256', buildTime, scripts },
        );
        await writeFileAtomic(opts.output, created.bytes);
        const how = signingKey ? `signed with ${signingKey.name}` : 'unsigned';
        process.stdout.write(
          `wrote ${opts.output}: ${opts.name}-${version}, ${entries.length} entries, ${created.bytes.length} bytes, C:${created.checksum}, ${how}\n`,
        );
      }),
    );
}
