import type { Command } from 'commander';
import { LadingError } from '../../util/errors.ts';
import { action, type GlobalOptions, loggerFor } from '../run.ts';

interface LoginFlags extends GlobalOptions {
  username?: string;
  password?: string;
  passwordStdin?: boolean;
  insecureAllowHttp?: boolean;
  insecureSkipTlsVerify?: boolean;
}

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of process.stdin) chunks.push(c as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

/** The flags that relax transport security, shared by login and publish. */
export function insecureOptions(cmd: Command): Command {
  return cmd
    .option(
      '--insecure-allow-http',
      'allow plain HTTP to a registry that is not on this machine (loopback registries may always use it)',
    )
    .option(
      '--insecure-skip-tls-verify',
      'do not verify the registry’s TLS certificate (does not allow plain HTTP)',
    );
}

/** `lading login [REGISTRY]` and `lading logout [REGISTRY]`. */
export function registerLogin(program: Command): void {
  insecureOptions(
    program
      .command('login')
      .summary('store credentials for a registry (checked first)')
      .description(
        'Check the user name and password against REGISTRY, then store them in the Docker config ' +
          '($DOCKER_CONFIG/config.json or ~/.docker/config.json; mode 0600; other settings kept), or in the ' +
          'credential helper it names for REGISTRY (credHelpers, credsStore). Wrong credentials change nothing. ' +
          'docker, podman, skopeo, crane and `lading publish` read what it stores.',
      )
      .argument('[registry]', 'host[:port] of the registry (default: Docker Hub)')
      .option('-u, --username <user>', 'user name')
      .option(
        '-p, --password <password>',
        'password or token (visible to other users of this machine: prefer --password-stdin)',
      )
      .option('--password-stdin', 'read the password or token from standard input'),
  ).action(
    action(async (server: string | undefined, flags: LoginFlags, cmd: Command) => {
      const logger = loggerFor(cmd.optsWithGlobals() as GlobalOptions);
      if (flags.password !== undefined && flags.passwordStdin) {
        throw new LadingError('USAGE', '--password and --password-stdin are exclusive');
      }
      const { login, passwordFromStdin } = await import('../../registry/login.ts');
      let password = flags.password ?? '';
      if (flags.passwordStdin) password = passwordFromStdin(await readStdin());
      else if (flags.password !== undefined)
        logger.warn('--password is visible to other users of this machine; use --password-stdin');
      const r = await login({
        server,
        username: flags.username ?? '',
        password,
        insecureAllowHttp: flags.insecureAllowHttp,
        insecureSkipTlsVerify: flags.insecureSkipTlsVerify,
        logger,
      });
      if (!r.checked) logger.warn(`${r.registry} asks for no credentials; stored them anyway`);
      logger.info(`logged in to ${r.registry} (credentials stored in ${r.storedIn})`);
    }),
  );

  program
    .command('logout')
    .summary('remove the stored credentials of a registry')
    .description(
      'Remove the credentials stored for REGISTRY from the Docker config and its credential helper.',
    )
    .argument('[registry]', 'host[:port] of the registry (default: Docker Hub)')
    .action(
      action(async (server: string | undefined, _flags: GlobalOptions, cmd: Command) => {
        const logger = loggerFor(cmd.optsWithGlobals() as GlobalOptions);
        const { logout } = await import('../../registry/login.ts');
        const r = await logout(server);
        logger.info(
          r.removed
            ? `removed the credentials of ${r.registry}`
            : `no credentials were stored for ${r.registry}`,
        );
      }),
    );
}
