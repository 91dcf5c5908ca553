/**
 * Test packages around this machine's real s6, execline and static busybox (Debian's s6, execline and
 * busybox-static), for running service bundles: `s6` (s6-svscan and the client tools at /bin, s6-supervise
 * and s6-ftrigrd at /usr/bin, the absolute paths Debian's build execs them by), `execline` (the interpreter
 * ELF as /bin/execlineb: Debian's /usr/bin/execlineb is a wrapper script), `busybox` (with a paths.d list,
 * so the build links its applets) and `host-libs`, the dynamic libraries they load (their `ldd` closure).
 */
import { readFileSync, realpathSync } from 'node:fs';
import type { PackageSpec } from './make-repo.ts';
import { requireTool, run } from './tools.ts';

const S6_BIN = ['s6-svscan', 's6-svwait', 's6-svstat', 's6-svc', 's6-svok'];
const S6_LIBEXEC = ['s6-supervise', 's6-ftrigrd'];
const BUSYBOX_APPLETS = ['sh', 'cat', 'sleep', 'id', 'ps', 'ls', 'kill', 'stat', 'echo', 'test'];

/** The libraries `ldd` lists for a binary, as absolute paths (the loader included). */
function lddClosure(binary: string): string[] {
  const r = run('ldd', [binary]);
  if (r.status !== 0) throw new Error(`ldd ${binary}: ${r.stderr}`);
  const out: string[] = [];
  for (const line of r.stdout.split('\n')) {
    const f = line.trim().split(/\s+/);
    if (f[1] === '=>' && f[2]?.startsWith('/')) out.push(f[2]);
    else if (f[0]?.startsWith('/')) out.push(f[0]);
  }
  return out;
}

/** The execline interpreter ELF (Debian installs it under /usr/lib/execline/bin). */
function execlineInterpreter(): string {
  const listed = run('dpkg', ['-L', 'execline']).stdout.split('\n');
  const elf = listed.find((p) => p.endsWith('/lib/execline/bin/execlineb'));
  if (elf) return elf;
  const onPath = requireTool('execlineb');
  if (readFileSync(onPath).subarray(0, 4).toString('latin1') === '\x7fELF') return onPath;
  throw new Error('the execline interpreter ELF was not found (apt-get install execline)');
}

export function hostS6Packages(): PackageSpec[] {
  const bin = (name: string) => realpathSync(requireTool(name));
  const busybox = bin('busybox');
  const execlineb = execlineInterpreter();
  const s6: PackageSpec['files'] = {};
  const binaries: string[] = [execlineb];
  for (const name of S6_BIN) {
    s6[`bin/${name}`] = { copy: bin(name) };
    binaries.push(bin(name));
  }
  for (const name of S6_LIBEXEC) {
    s6[`usr/bin/${name}`] = { copy: bin(name) };
    binaries.push(bin(name));
  }
  const libs: PackageSpec['files'] = {};
  for (const lib of new Set(binaries.flatMap(lddClosure))) libs[lib.slice(1)] = { copy: realpathSync(lib) };
  return [
    { name: 'host-libs', files: libs },
    { name: 's6', files: s6, depends: ['host-libs', 'execline'] },
    { name: 'execline', files: { 'bin/execlineb': { copy: execlineb } }, depends: ['host-libs'] },
    {
      name: 'busybox',
      files: {
        'bin/busybox': { copy: busybox },
        'etc/busybox-paths.d/busybox': `${BUSYBOX_APPLETS.map((a) => `bin/${a}`).join('\n')}\n`,
      },
    },
  ];
}
