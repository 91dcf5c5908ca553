/**
 * Comparing lading with the real apk-tools: lading's answer rendered as apk prints it, how two answers
 * differ, and which of lading's apk-tools 3 behaviours (APK3_* in src/solver/state.ts) explain a difference
 * with apk-tools 2.14.4. Shared by the differential tests and scripts/solver-fuzz.ts.
 */
import type { PackageIndex } from '../../src/solver/package-index.ts';
import { type ResolveOptions, resolve } from '../../src/solver/resolve.ts';
import {
  APK3_CONFLICT_BLOCKS_INSTALL_IF,
  APK3_INSTALL_IF_NEGATED,
  APK3_SELF_CONFLICT,
  APK3_VIRTUAL_LAST,
} from '../../src/solver/state.ts';
import { isLadingError } from '../../src/util/errors.ts';
import { normaliseTree } from './apk-suite.ts';
import { APK_WIDTH, type Outcome } from './oracle.ts';

/** lading's answer, rendered as apk prints it (install order with `@tag`, or the tree). */
export function ladingOutcome(
  index: PackageIndex,
  w: readonly string[],
  options: ResolveOptions = {},
): Outcome {
  try {
    const r = resolve(index, w, { width: APK_WIDTH, ...options });
    return {
      ok: true,
      order: r.packages.map((p) => `${p.name}${p.tag ? `@${p.tag}` : ''}-${p.version}`),
      tree: '',
    };
  } catch (e) {
    if (!isLadingError(e) || e.code !== 'SOLVER_UNSATISFIABLE') throw e;
    return { ok: false, order: [], tree: e.message };
  }
}

/**
 * How lading's answer differs from apk's, or undefined when they agree: the same package set in the same
 * install order, or both refused with the same tree (the tokens of each label sorted: apk's order there
 * follows its hash tables).
 */
export function disagreement(want: Outcome, got: Outcome): string | undefined {
  if (want.ok !== got.ok)
    return `apk ${want.ok ? 'installs' : 'rejects'}, lading ${got.ok ? 'installs' : `rejects:\n${got.tree}`}`;
  if (want.ok && [...want.order].sort().join(' ') !== [...got.order].sort().join(' ')) {
    const extra = got.order.filter((x) => !want.order.includes(x));
    const missing = want.order.filter((x) => !got.order.includes(x));
    return `lading adds: ${extra.join(' ')}\n  lading lacks: ${missing.join(' ')}`;
  }
  if (want.ok && want.order.join(' ') !== got.order.join(' '))
    return `same packages, other install order:\n  apk:    ${want.order.join(' ')}\n  lading: ${got.order.join(' ')}`;
  if (!want.ok && !sameTree(want.tree, got.tree)) return `apk:\n${want.tree}\n  lading:\n${got.tree}`;
  return undefined;
}

/**
 * Whether apk's tree and lading's say the same: the tokens of each label compared sorted (apk's order there
 * follows its hash tables), and apk's "Huh?" for a tree it could not build read as lading's words for it.
 */
export function sameTree(apk: string, lading: string): boolean {
  return apk === lading || normaliseTree(unhuh(apk)) === normaliseTree(lading);
}

/** apk's words for a tree it could not build, in lading's words. */
const unhuh = (tree: string): string =>
  tree.replace(
    'Huh? Error reporter did not find the broken constraints.',
    '  (lading could not single out the broken constraint)',
  );

/** lading's apk-tools 3 behaviours by name; `other-arch` is the index refusing packages of another `A:`. */
export const APK3_BEHAVIOURS = {
  'install-if-negated': APK3_INSTALL_IF_NEGATED,
  'self-conflict': APK3_SELF_CONFLICT,
  'virtual-last': APK3_VIRTUAL_LAST,
  'conflict-blocks-install-if': APK3_CONFLICT_BLOCKS_INSTALL_IF,
  'other-arch': 0,
} as const;
export type Apk3Behaviour = keyof typeof APK3_BEHAVIOURS;

/**
 * Which apk-tools 3 behaviours explain lading's difference from apk-tools 2.14.4's answer `want`: the
 * smallest sets that, turned off, make lading agree (all sets of that size that do); undefined when not even
 * turning all off does (a bug). `answer(off, otherArch)` is lading's answer with the APK3_* bits `off` turned
 * off and, when `otherArch`, packages of other architectures kept.
 */
export function explainedBy(
  want: Outcome,
  answer: (off: number | true, otherArch: boolean) => Outcome,
): Apk3Behaviour[] | undefined {
  const names = Object.keys(APK3_BEHAVIOURS) as Apk3Behaviour[];
  for (let size = 1; size <= names.length; size++) {
    const found = new Set<Apk3Behaviour>();
    for (let set = 1; set < 1 << names.length; set++) {
      const chosen = names.filter((_, i) => set & (1 << i));
      if (chosen.length !== size) continue;
      const off = chosen.reduce((m, b) => m | APK3_BEHAVIOURS[b], 0);
      if (disagreement(want, answer(off, chosen.includes('other-arch'))) === undefined)
        for (const b of chosen) found.add(b);
    }
    if (found.size > 0) return names.filter((b) => found.has(b));
  }
  return undefined;
}

/**
 * How lading's answer relates to apk-tools 2.14.4's answer `want`: the same; explained by apk-tools 3
 * behaviours (explainedBy); or a bug. Refusing a world 2.14.4 solves is explained only by refusing
 * packages of other architectures (which lading must): resolve() solves as 2.14.4 where a fix fails.
 */
export function classify(
  want: Outcome,
  answer: (off: number | true, otherArch: boolean) => Outcome,
): { agrees: true } | { agrees: false; why: string; by?: Apk3Behaviour[] } {
  const got = answer(0, false);
  const why = disagreement(want, got);
  if (why === undefined) return { agrees: true };
  if (want.ok && !got.ok)
    return answer(0, true).ok ? { agrees: false, why, by: ['other-arch'] } : { agrees: false, why };
  const by = explainedBy(want, answer);
  return by === undefined ? { agrees: false, why } : { agrees: false, why, by };
}
