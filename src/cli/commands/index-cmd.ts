import type { Command } from 'commander';
import { signingOptions } from '../options.ts';
import { action } from '../run.ts';

/** `lading index`: a (signed) APKINDEX.tar.gz for a set of packages. */
export function registerIndex(program: Command): void {
  signingOptions(
    program
      .command('index')
      .description('write a signed APKINDEX.tar.gz listing the given packages')
      .argument(
        '<package...>',
        '.apk files to list (each is checked completely: data hash, safe paths, file checksums)',
      )
      .requiredOption('-o, --output <file>', 'the index to write, normally REPO/ARCH/APKINDEX.tar.gz'),
  )
    .option('--description <text>', 'the DESCRIPTION entry (e.g. a repository version)')
    .addHelpText(
      'after',
      `
apk reads REPO/ARCH/APKINDEX.tar.gz and fetches REPO/ARCH/NAME-VERSION.apk, so put the packages next
to the index under those names. Records are sorted by name and version; entry times come from
SOURCE_DATE_EPOCH (default 0), so the same packages and key give the same bytes.`,
    )
    .action(
      action(
        async (
          packages: string[],
          opts: { output: string; key?: string; keyName?: string; sha1?: boolean; description?: string },
        ) => {
          const { indexRecordsFromFiles, writeApkIndex } = await import('../../apk/apkindex.ts');
          const { loadSigningKey } = await import('../../apk/signature.ts');
          const { sourceDateEpoch } = await import('../../apk/apk-writer.ts');
          const { writeFileAtomic } = await import('../../util/write-file.ts');
          const mtime = sourceDateEpoch();
          const signingKey = opts.key ? await loadSigningKey(opts.key, opts.keyName) : undefined;
          const records = await indexRecordsFromFiles(packages);
          const bytes = writeApkIndex({
            packages: records,
            description: opts.description,
            signingKey,
            algorithm: opts.sha1 ? 'RSA' : 'RSA256',
            mtime,
          });
          await writeFileAtomic(opts.output, bytes);
          const how = signingKey ? `signed with ${signingKey.name}` : 'unsigned';
          process.stdout.write(`wrote ${opts.output}: ${records.length} packages, ${how}\n`);
        },
      ),
    );
}
