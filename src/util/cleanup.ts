/**
 * Temporary files and directories this process is writing, removed when it exits — normally, after an error,
 * or (in the CLI) on SIGINT and SIGTERM — so an interrupted command leaves no half-written file behind (a
 * package being expanded can be a gigabyte). Removal is synchronous: an exit handler cannot wait. A path that
 * was renamed into place meanwhile is simply gone, so writers need not unregister.
 *
 * Only `kill -9` escapes this; the next cache user or `lading clean` removes what such a writer left, since
 * temporary names carry their writer's pid (see writerGone).
 */
import { existsSync, readlinkSync, rmSync } from 'node:fs';

const pending = new Set<string>();
let hooked = false;
/** Size after the last pruning: a long-running library process must not collect every name it ever used. */
let pruned = 0;

/** Removes `path` (a file or a directory tree) when the process exits; returns a function that forgets it. */
export function removeOnExit(path: string): () => void {
  if (!hooked) {
    hooked = true;
    process.on('exit', removePending);
  }
  if (pending.size >= Math.max(1024, 2 * pruned)) {
    for (const p of pending) if (!existsSync(p)) pending.delete(p);
    pruned = pending.size;
  }
  pending.add(path);
  return () => {
    pending.delete(path);
  };
}

/** Removes every pending path now. */
export function removePending(): void {
  for (const path of pending) rmSync(path, { recursive: true, force: true });
  pending.clear();
}

/**
 * For the CLI: SIGINT and SIGTERM remove the pending paths and, unless the command handles the signal itself
 * (`dot --web` stops serving), end the process with the signal's status (130, 143). Library callers keep their
 * own signal handling.
 */
export function removePendingOnSignals(): void {
  for (const [signal, status] of [
    ['SIGINT', 130],
    ['SIGTERM', 143],
  ] as const) {
    process.on(signal, () => {
      removePending();
      if (process.listenerCount(signal) === 1) process.exit(status);
    });
  }
}

/**
 * This process's pid namespace, so a temporary name tells whose pid it carries: a writer in another container
 * sharing the cache has pids this process cannot see. '' where there is no /proc.
 */
export const PID_NAMESPACE: string = (() => {
  try {
    return /\[(\d+)\]/.exec(readlinkSync('/proc/self/ns/pid'))?.[1] ?? '';
  } catch {
    return '';
  }
})();

/**
 * True when the writer that named a temporary file `<namespace>.<pid>-…` is provably gone: same pid namespace
 * and no such process. A live pid (perhaps reused) or another namespace's name is not judged.
 */
export function writerGone(name: string): boolean {
  const m = /^(\d*)\.(\d+)-/.exec(name);
  if (!m || m[1] !== PID_NAMESPACE || PID_NAMESPACE === '') return false;
  try {
    process.kill(Number(m[2]), 0);
    return false;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'ESRCH';
  }
}

/** The prefix of this process's temporary names: `<namespace>.<pid>-`. */
export function writerPrefix(): string {
  return `${PID_NAMESPACE}.${process.pid}-`;
}
