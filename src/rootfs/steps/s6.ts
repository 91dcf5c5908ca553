/**
 * The s6 supervision tree of `entrypoint.services`, exactly as apko writes it (pkg/s6/supervision_tree.go):
 * `/sv` and `/sv/<name>` directories mode 0777 (s6-svscan and s6-supervise create their state there, also when
 * the container runs as a non-root user), and `/sv/<name>/run` = `#!/bin/execlineb\n<command>\n`, mode 0755,
 * owned by root. Nothing else: no finish, log or notification files. Written whenever services are set,
 * whatever `entrypoint.type` says (as apko). Existing directories are kept as they are.
 */
import { SERVICE_NAME_PATTERN } from '../../config/schema.ts';
import { joinPath } from '../../fs/path.ts';
import type { ImageFS } from '../../fs/tree.ts';
import { inContext, type StepTime, stepError, writeGeneratedFile } from './common.ts';

export const SUPERVISION_DIR = 'sv';

/** The bytes of a service's run file. */
export function serviceRunScript(command: string): string {
  return `#!/bin/execlineb\n${command}\n`;
}

/**
 * Writes `/sv/<name>/run` for every service (sorted by name). Names are checked again here (the config loader
 * refuses them first): apko joins them unchecked, so `../etc` would write /etc/run.
 */
export function writeSupervisionTree(
  fs: ImageFS,
  services: Readonly<Record<string, string>>,
  time: StepTime,
): string[] {
  const names = Object.keys(services).sort();
  if (names.length === 0) return [];
  const written: string[] = [];
  inContext('entrypoint.services', undefined, () => {
    const open = { mode: 0o777, uid: 0, gid: 0, mtime: time.mtime };
    const root = fs.mkdirAll(SUPERVISION_DIR, open);
    for (const name of names) {
      if (!SERVICE_NAME_PATTERN.test(name)) {
        throw stepError(
          'CONFIG_INVALID',
          `entrypoint.services: ${JSON.stringify(name)} cannot be a service directory name`,
          undefined,
          'a service name holds only letters, digits, "_", "-" and "." (not first)',
        );
      }
      const dir = fs.mkdirAll(joinPath(root, name), open);
      written.push(
        writeGeneratedFile(fs, joinPath(dir, 'run'), serviceRunScript(services[name]!), {
          mtime: time.mtime,
          mode: 0o755,
          uid: 0,
          gid: 0,
          forceAttrs: true,
        }),
      );
    }
  });
  return written;
}
