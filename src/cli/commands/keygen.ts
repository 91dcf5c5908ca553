import type { Command } from 'commander';
import { action } from '../run.ts';

/** `lading keygen NAME`: an RSA signing key pair for packages and indexes. */
export function registerKeygen(program: Command): void {
  program
    .command('keygen')
    .description('create an RSA key pair for signing packages and indexes: NAME.rsa and NAME.rsa.pub')
    .argument('<name>', 'path and base name of the key files, e.g. keys/me@example.com')
    .option('--bits <n>', 'RSA key size in bits (2048–16384)', '4096')
    .option('--force', 'replace existing key files instead of refusing')
    .addHelpText(
      'after',
      `
Writes NAME.rsa (the private key, PEM, mode 0600: keep it secret) and NAME.rsa.pub (the public key,
PEM PKIX, as apk's keys directory wants). Sign with \`lading package --key NAME.rsa\` and
\`lading index --key NAME.rsa\`; install NAME.rsa.pub into /etc/apk/keys (or pass its directory as
--keys-dir to apk, --keyring to \`lading verify\`). Signatures name the key by its file name, so keep
the .rsa.pub name when you copy it.`,
    )
    .action(
      action(async (name: string, opts: { bits: string; force?: boolean }) => {
        const { writeKeyPair } = await import('../../apk/keygen.ts');
        const bits = Number(opts.bits);
        const written = await writeKeyPair(name, { bits, force: opts.force });
        process.stdout.write(`wrote ${written.privateKeyFile} (private, keep secret)\n`);
        process.stdout.write(`wrote ${written.publicKeyFile} (public)\n`);
      }),
    );
}
