/**
 * podman with all its state in a temp dir (oci-tooling §2): runc, cgroupfs, no network, explicit ulimits (no
 * CAP_SYS_RESOURCE here), file events. `podman(args)` runs it with that configuration; `remove()` cleans up.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { type RunResult, requireTool, runAsync, tempDir } from './tools.ts';

export interface Podman {
  podman(args: string[]): Promise<RunResult>;
  remove(): Promise<void>;
}

export function startPodman(): Podman {
  const bin = requireTool('podman');
  requireTool('runc');
  const tmp = tempDir('lading-podman-');
  const d = tmp.path;
  writeFileSync(
    join(d, 'containers.conf'),
    `[containers]
default_ulimits = ["nofile=1024:1024", "nproc=4096:4096"]
netns = "none"
[engine]
cgroup_manager = "cgroupfs"
events_logger = "file"
events_logfile_path = "${d}/events.log"
runtime = "runc"
tmp_dir = "${d}/tmp"
image_copy_tmp_dir = "${d}"
`,
  );
  writeFileSync(
    join(d, 'storage.conf'),
    `[storage]
driver = "vfs"
graphroot = "${d}/graph"
runroot = "${d}/run"
`,
  );
  const env = {
    ...process.env,
    CONTAINERS_CONF: join(d, 'containers.conf'),
    CONTAINERS_STORAGE_CONF: join(d, 'storage.conf'),
    CONTAINERS_REGISTRIES_CONF: join(d, 'registries.conf'),
  };
  writeFileSync(join(d, 'registries.conf'), 'unqualified-search-registries = []\n');
  const podman = (args: string[]) => runAsync(bin, args, { env });
  return {
    podman,
    remove: async () => {
      // vfs keeps plain directories (no mounts): removing the temp dir removes the store
      await podman(['rm', '--all', '--force']);
      tmp.remove();
    },
  };
}
