/**
 * The apko configuration format as one zod schema: the single source of truth for loading (types, strictness,
 * per-file rules with their messages) and for the published JSON Schema (descriptions, patterns, bounds).
 * Field names are apko's exactly (`stop-signal`, `build_repositories`, …).
 */
import { createPublicKey, X509Certificate } from 'node:crypto';
import * as z from 'zod';
import { ARCH_SPELLINGS } from '../platform/arch.ts';
import { PATH_TYPES } from './types.ts';

/**
 * String fields whose YAML value may be any plain scalar (`run-as: 65532`, `PORT: 8080`): apko (yaml.v3) takes
 * the scalar's text. The loader does that for every string field; the JSON Schema admits numbers and booleans
 * only for these, where they are idiomatic.
 */
export const scalarTextFields = new WeakSet<z.ZodType>();

function text(description: string): z.ZodString {
  return z.string().describe(description);
}

function scalarText(description: string, refine: (s: z.ZodString) => z.ZodString = (s) => s): z.ZodString {
  const s = refine(z.string()).describe(description);
  scalarTextFields.add(s);
  return s;
}

function list<T extends z.ZodType>(item: T, description: string) {
  return z.array(item).describe(description);
}

/** apko's rule for certificate and runtime key names (they become file names). */
export const FILE_NAME_PATTERN = /^[a-zA-Z0-9_-]+[a-zA-Z0-9_.-]*$/;
/** User and group names: what /etc/passwd and /etc/group can hold safely (no `:`, `,`, spaces or newlines). */
export const ACCOUNT_NAME_PATTERN = /^[A-Za-z_][A-Za-z0-9_.-]*\$?$/;
/** An s6 service name: a directory under /sv (s6-svscan skips dot names; `/` and `..` would leave /sv). */
export const SERVICE_NAME_PATTERN = /^[A-Za-z0-9_][A-Za-z0-9_.-]*$/;
const MAX_ID = 4294967294; // (uid_t)-1 means "no change" to chown, so it cannot name an account

const nonEmpty = (what: string) => z.string().min(1, { error: `${what} must not be empty`, abort: true });

/** Values a runtime passes to the kernel or writes into files: no control characters, no NUL. */
const NO_CONTROL = /^[^\x00-\x1f\x7f]*$/;
const NO_NUL = /^[^\0]*$/;

/** A path inside the container that runtimes take as absolute (OCI WorkingDir and Volumes must be). */
function absolutePath(description: string): z.ZodString {
  return text(description)
    .regex(/^\//, { error: 'must be an absolute path (starting with /): runtimes refuse a relative one' })
    .regex(NO_CONTROL, { error: 'must not contain control characters' });
}

const repository = nonEmpty('a repository').regex(/^(@\S+\s+)?\S+$/, {
  error: 'a repository is a URL or a directory, optionally tagged: "@tag https://…" (no other spaces)',
});

const packageName = nonEmpty('a package').regex(/^\S+$/, {
  error: 'a package entry is one world entry such as "busybox" or "musl>=1.2" (no spaces)',
});

/** Count of PEM blocks of one kind in a text. */
function pemBlocks(content: string, label: string): number {
  return content.split(`-----BEGIN ${label}-----`).length - 1;
}

const certificateEntry = z
  .strictObject({
    name: text(
      'Name of the certificate; the file is /usr/local/share/ca-certificates/<name>-<sha256>.crt',
    ).regex(FILE_NAME_PATTERN, {
      error: 'a certificate name may hold only letters, digits, "_", "-" and "." (not first)',
    }),
    content: text('One PEM-encoded certificate (-----BEGIN CERTIFICATE----- … -----END CERTIFICATE-----)'),
  })
  .superRefine((entry, ctx) => {
    const n = pemBlocks(entry.content, 'CERTIFICATE');
    if (n !== 1) {
      ctx.addIssue({
        code: 'custom',
        path: ['content'],
        message: `must hold exactly one PEM certificate, found ${n}`,
      });
      return;
    }
    try {
      new X509Certificate(entry.content);
    } catch (e) {
      ctx.addIssue({
        code: 'custom',
        path: ['content'],
        message: `is not a valid PEM certificate (${(e as Error).message})`,
      });
    }
  })
  .describe(
    'A CA certificate to trust: installed as its own file and appended to the CA bundles (and Java truststore) present in the image',
  );

const runtimeKeyEntry = z
  .strictObject({
    name: text('File name under /etc/apk/keys/ (e.g. "my-repo.rsa.pub")').regex(FILE_NAME_PATTERN, {
      error: 'a key name may hold only letters, digits, "_", "-" and "." (not first)',
    }),
    content: text('The RSA public key in PEM form (-----BEGIN PUBLIC KEY-----)'),
  })
  .superRefine((entry, ctx) => {
    const n = pemBlocks(entry.content, 'PUBLIC KEY');
    if (n !== 1) {
      ctx.addIssue({
        code: 'custom',
        path: ['content'],
        message: `must hold exactly one PEM "PUBLIC KEY" block, found ${n}`,
      });
      return;
    }
    try {
      const key = createPublicKey(entry.content);
      if (key.asymmetricKeyType !== 'rsa') {
        ctx.addIssue({
          code: 'custom',
          path: ['content'],
          message: `must be an RSA public key, not ${key.asymmetricKeyType}`,
        });
      }
    } catch (e) {
      ctx.addIssue({
        code: 'custom',
        path: ['content'],
        message: `is not a valid public key (${(e as Error).message})`,
      });
    }
  })
  .describe('A public key installed into the image for apk at run time; never used to verify the build');

const contents = z
  .strictObject({
    repositories: list(
      repository.describe('A repository URL or local directory, optionally "@tag <url>"'),
      'Repositories used to build the image and written to /etc/apk/repositories in it. A package "name@tag" is taken only from the repository tagged "@tag".',
    ).optional(),
    build_repositories: list(
      repository.describe('A repository URL or local directory'),
      'Repositories used only while building; not written into the image',
    ).optional(),
    runtime_repositories: list(
      repository.describe('A repository URL or directory as apk inside the image should see it'),
      'Repositories written to /etc/apk/repositories in the image but not used to build it',
    ).optional(),
    keyring: list(
      nonEmpty('a keyring entry').describe('Path or http(s) URL of an RSA public key (.rsa.pub)'),
      'Public keys that verify the repositories; copied to /etc/apk/keys/<basename>',
    ).optional(),
    runtime_keyring: list(
      runtimeKeyEntry,
      'Public keys written to /etc/apk/keys/ for apk inside the image',
    ).optional(),
    packages: list(
      packageName.describe('A world entry: name, name=version, name>=version, name@tag, …'),
      'Packages to install (the apk world); dependencies are resolved',
    ).optional(),
    baseimage: z
      .strictObject({
        image: text(
          'The image to build on: an OCI layout directory or image archive (relative to the working directory), or an image reference in a registry',
        ),
        apkindex: text(
          "Directory holding <apk-arch>/APKINDEX: the base's installed packages (apko needs it; lading reads them from the image when it is left out)",
        ).optional(),
      })
      .describe('Build on top of an existing image: its layers are kept, one layer is added')
      .optional(),
  })
  .describe('What goes into the image filesystem');

const entrypoint = z
  .strictObject({
    type: z
      .enum(['service-bundle'])
      .describe('"service-bundle": run the s6 supervisor over entrypoint.services (adds package s6)')
      .optional(),
    command: text(
      'The OCI Entrypoint, split into words like a POSIX shell does (quotes and \\ escapes)',
    ).optional(),
    'shell-fragment': text(
      'A shell command run as ["/bin/sh", "-c", <fragment>]; wins over command',
    ).optional(),
    services: z
      .record(
        z.string().regex(SERVICE_NAME_PATTERN, {
          error: 'a service name may hold only letters, digits, "_", "-" and "." (not first)',
        }),
        text('The execline command of the service, written to /sv/<name>/run'),
      )
      .describe('s6 services by name, for type: service-bundle')
      .optional(),
  })
  .describe('How the container starts');

const user = z
  .strictObject({
    username: text('The user name').regex(ACCOUNT_NAME_PATTERN, {
      error: 'a user name starts with a letter or "_" and holds only letters, digits, "_", "-" and "."',
    }),
    uid: z
      .int()
      .min(1, {
        // only 0 gets the root explanation; -1 gets the plain bound
        error: (issue) =>
          issue.input === 0
            ? 'uid 0 is root and cannot be added as a user (to run as root, use `run-as: 0`)'
            : undefined,
      })
      .max(MAX_ID)
      .describe('The user ID (not 0)'),
    gid: z.int().min(0).max(MAX_ID).describe('The primary group ID (default: the uid)').optional(),
    shell: text('Login shell (default /bin/sh)')
      .regex(/^[^:\n]*$/, { error: 'a shell must not contain ":" or a newline' })
      .optional(),
    homedir: text('Home directory, created if missing (default /home/<username>)')
      .regex(/^\/[^:\n]*$/, { error: 'a home directory is an absolute path without ":" or newlines' })
      .optional(),
  })
  .describe('A user added to /etc/passwd and /etc/shadow');

const group = z
  .strictObject({
    groupname: text('The group name').regex(ACCOUNT_NAME_PATTERN, {
      error: 'a group name starts with a letter or "_" and holds only letters, digits, "_", "-" and "."',
    }),
    gid: z.int().min(0).max(MAX_ID).describe('The group ID'),
    members: list(
      text('A user name').regex(ACCOUNT_NAME_PATTERN, { error: 'a member must be a valid user name' }),
      'User names in the group',
    ).optional(),
  })
  .describe('A group added to /etc/group');

const accounts = z
  .strictObject({
    'run-as': scalarText('The OCI User: a user name, a uid, or user:group').optional(),
    users: list(user, 'Users to add').optional(),
    groups: list(group, 'Groups to add').optional(),
  })
  .describe('Users and groups of the image');

/** Whether a path climbs above the image root (`a/../../b`); relative paths start at the root. */
export function escapesRoot(p: string): boolean {
  let depth = 0;
  for (const seg of p.split('/')) {
    if (seg === '..') depth--;
    else if (seg !== '' && seg !== '.') depth++;
    if (depth < 0) return true;
  }
  return false;
}

const pathMutation = z
  .strictObject({
    path: nonEmpty('a path').describe('The path in the image'),
    type: z.enum(PATH_TYPES).describe('What to do at path'),
    uid: z.int().min(0).max(MAX_ID).describe('Owner uid (if only gid is set, uid is 0)').optional(),
    gid: z.int().min(0).max(MAX_ID).describe('Owner gid (if only uid is set, gid is 0)').optional(),
    permissions: z
      .int()
      .min(0)
      .max(0o7777, { error: 'permissions must be at most 0o7777' })
      .describe('Mode bits, written in octal as 0o755 (0755 works too)')
      .optional(),
    source: text('Link target: for symlink any text, for hardlink a path in the image').optional(),
    recursive: z
      .boolean()
      .describe('Apply mode and owner to everything below (directory, permissions)')
      .optional(),
  })
  .superRefine((m, ctx) => {
    if (m.path.includes('\0'))
      ctx.addIssue({ code: 'custom', path: ['path'], message: 'a path must not contain NUL' });
    // the rules packages obey (apk/rules.ts): a name a layer would carry as an OCI whiteout, or as a name no
    // tar tool can unpack, is refused here too
    const parts = m.path.split('/').filter((p) => p !== '');
    if (parts.some((p) => p.startsWith('.wh.'))) {
      ctx.addIssue({
        code: 'custom',
        path: ['path'],
        message: `path ${JSON.stringify(m.path)} is an OCI whiteout name (.wh.*): in a layer it would delete files`,
      });
    }
    if (parts.some((p) => Buffer.byteLength(p) > 255) || Buffer.byteLength(`/${parts.join('/')}`) >= 4096) {
      ctx.addIssue({
        code: 'custom',
        path: ['path'],
        message: 'a path must fit PATH_MAX (4096 bytes) and each of its names NAME_MAX (255 bytes)',
      });
    }
    if (/[\x01-\x1f\x7f]/.test(m.path)) {
      ctx.addIssue({ code: 'custom', path: ['path'], message: 'a path must not contain control characters' });
    }
    if (escapesRoot(m.path)) {
      ctx.addIssue({
        code: 'custom',
        path: ['path'],
        message: `path ${JSON.stringify(m.path)} is outside the image`,
      });
    }
    if ((m.type === 'symlink' || m.type === 'hardlink') && (m.source === undefined || m.source === '')) {
      ctx.addIssue({
        code: 'custom',
        path: ['source'],
        message: `a ${m.type} needs a source (the link target)`,
      });
    }
    if (m.type === 'hardlink' && m.source !== undefined && escapesRoot(m.source)) {
      ctx.addIssue({
        code: 'custom',
        path: ['source'],
        message: `hardlink source ${JSON.stringify(m.source)} is outside the image`,
      });
    }
  })
  .describe('A change to the filesystem after packages are installed, applied in order');

export const configSchema = z
  .strictObject({
    contents: contents.optional(),
    entrypoint: entrypoint.optional(),
    cmd: scalarText(
      'The OCI Cmd (arguments to the entrypoint), split into words like a POSIX shell',
    ).optional(),
    'stop-signal': scalarText('The OCI StopSignal, e.g. SIGTERM').optional(),
    'work-dir': absolutePath('The OCI WorkingDir (not created)').optional(),
    accounts: accounts.optional(),
    archs: list(
      z.enum(ARCH_SPELLINGS as [string, ...string[]]).describe('An architecture, OCI or apk spelling'),
      'Architectures to build (default: this machine’s); --arch overrides',
    ).optional(),
    environment: z
      .record(
        z
          .string()
          .regex(/^[^=\0]+$/, { error: 'an environment variable name must not be empty or contain "="' })
          .regex(NO_CONTROL, {
            error: 'an environment variable name must not contain control characters (a newline, a tab)',
          }),
        scalarText('The value', (s) =>
          s.regex(NO_NUL, {
            error:
              'an environment value must not contain a NUL character: runtimes pass the environment as C strings',
          }),
        ),
      )
      .describe('Environment variables (OCI Env); PATH and SSL_CERT_FILE get defaults when absent')
      .optional(),
    paths: list(pathMutation, 'Filesystem changes applied after install').optional(),
    'vcs-url': text(
      'Source repository URL, normally <url>@<commit> (sets the source/revision annotations)',
    ).optional(),
    annotations: z
      .record(
        nonEmpty('an annotation key').regex(NO_CONTROL, {
          error: 'an annotation key must not contain control characters (a newline, a tab)',
        }),
        scalarText('The value', (s) =>
          s.regex(NO_NUL, { error: 'an annotation value must not contain a NUL character' }),
        ),
      )
      .describe(
        'Annotations of the manifests and index, also the image config Labels; --annotations overrides',
      )
      .optional(),
    include: text(
      'Path of a base config merged under this one (resolved from the working directory)',
    ).optional(),
    volumes: list(absolutePath('An absolute path'), 'OCI Volumes').optional(),
    layering: z
      .strictObject({
        strategy: z
          .enum(['origin', 'package'])
          .describe(
            'How to split layers: "origin" groups packages by origin (apko); "package" makes each package\'s own compressed data a layer (lading only)',
          )
          .optional(),
        budget: z
          .int()
          .min(0)
          .describe('Maximum number of package layers (plus one top layer); "package" defaults to 124')
          .optional(),
      })
      .describe('Split the image into several layers; {} means one layer')
      .optional(),
    format: z.enum(['tar']).describe('Layer format: tar (erofs is not supported by lading)').optional(),
    certificates: z
      .strictObject({
        additional: list(certificateEntry, 'Certificates given inline').optional(),
        providers: list(
          nonEmpty('a provider').describe('A package name or virtual provided by installed packages'),
          'Installed packages providing one of these contribute their usr/local/share/ca-certificates/*.crt',
        ).optional(),
      })
      .describe('Extra CA certificates to trust')
      .optional(),
  })
  .describe('An apko image configuration (as read by lading)');

/** A config as a library caller writes it: the apko document (apko field names) as an object. */
export type ApkoConfig = z.input<typeof configSchema>;

/** One config file as written (apko field names), after type checks and per-file rules. */
export type RawConfig = z.infer<typeof configSchema>;
export type RawUser = z.infer<typeof user>;
export type RawGroup = z.infer<typeof group>;
export type RawPathMutation = z.infer<typeof pathMutation>;
export type RawNamedPem = z.infer<typeof certificateEntry>;

/** Values that are valid apko but refused by lading, with the reason (used in error messages). */
export const UNSUPPORTED_VALUES: Record<string, Record<string, string>> = {
  format: {
    erofs:
      '"erofs" is not supported by lading (it is experimental in apko); use format: tar or remove format',
  },
};
