import type { Command } from 'commander';
import { action, collect } from '../run.ts';

/** `lading verify`: checks packages and indexes like `apk verify`. */
export function registerVerify(program: Command): void {
  program
    .command('verify')
    .description('check the signature and integrity of .apk packages and APKINDEX.tar.gz files')
    .argument('<file...>', '.apk or APKINDEX.tar.gz files (the kind is detected from the content)')
    .requiredOption(
      '-k, --keyring <path>',
      'directory of trusted public keys (*.rsa.pub) or a single key file; repeatable',
      collect,
    )
    .addHelpText(
      'after',
      `
Prints one line per file:
  FILE: OK (key NAME, ALG)     signed by a trusted key, and the content is intact
  FILE: BAD signature (…)      a trusted key's signature does not verify
  FILE: UNTRUSTED (…)          signed, but by no key in the keyring (keys are matched by file name)
  FILE: UNSIGNED               no signature at all
  FILE: corrupt: REASON        not a valid package or index (truncated, damaged, unsafe paths, …)
The signature and data hash are judged first; a package signed by a trusted key is then checked completely
(every archive entry against the package rules, every file checksum), with its data inflated as a stream under
the limit its declared size allows. An untrusted or unsigned package is reported as such without inflating it.
Exits with status 1 if any file is not OK.`,
    )
    .action(
      action(async (files: string[], opts: { keyring: string[] }) => {
        const { loadKeyring } = await import('../../apk/keyring.ts');
        const { checkFile } = await import('../../apk/verify.ts');
        const keyring = await loadKeyring(opts.keyring);
        let failed = 0;
        for (const file of files) {
          const r = await checkFile(file, keyring);
          if (r.status !== 'OK') failed++;
          process.stdout.write(`${file}: ${r.message}\n`);
        }
        return failed > 0 ? 1 : 0;
      }),
    );
}
