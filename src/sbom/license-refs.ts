/**
 * The `LicenseRef-…` definitions of one document. SPDX requires every LicenseRef used in an
 * expression to be defined once (`hasExtractedLicensingInfos`), and matches ids case-insensitively,
 * so `custom` and `Custom` from two packages must end up as one id.
 */

import type { ExtractedLicense } from './document.ts';
import { normalizeLicense } from './license.ts';

interface RefEntry {
  /** Original spellings this reference stands for. */
  names: Set<string>;
  /** Text given by an imported SBOM; generated otherwise. */
  text?: string;
  comment?: string;
}

const REF_TOKEN = /(?<![A-Za-z0-9.:-])LicenseRef-[A-Za-z0-9.-]+/g;

export function rewriteRefs(expression: string, rename: ReadonlyMap<string, string>): string {
  return rename.size === 0 ? expression : expression.replace(REF_TOKEN, (id) => rename.get(id) ?? id);
}

export class LicenseRegistry {
  private readonly refs = new Map<string, RefEntry>();

  /** An apk license string → SPDX expression (undefined when there is none), recording its references. */
  normalize(text: string | undefined): string | undefined {
    const n = normalizeLicense(text);
    if (n === undefined) return undefined;
    for (const [id, names] of n.refs) {
      const entry = this.entry(id);
      for (const name of names) entry.names.add(name);
    }
    return n.expression;
  }

  /**
   * A definition from an imported SBOM. Returns the id to use: the same id, or a new one when the
   * document already defines that id with a different text.
   */
  define(id: string, name: string, text: string): string {
    for (let n = 1; ; n++) {
      const candidate = n === 1 ? id : `${id}-${n}`;
      const existing = this.refs.get(candidate);
      if (existing === undefined || existing.text === undefined || existing.text === text) {
        const entry = this.entry(candidate);
        entry.names.add(name);
        entry.text = text;
        return candidate;
      }
    }
  }

  private entry(id: string): RefEntry {
    let e = this.refs.get(id);
    if (e === undefined) this.refs.set(id, (e = { names: new Set() }));
    return e;
  }

  /**
   * Merges ids that differ only in case (the lexically first spelling wins) and returns the
   * rewrite to apply to every expression of the document.
   */
  finish(): (expression: string) => string {
    const groups = new Map<string, string[]>();
    for (const id of [...this.refs.keys()].sort()) {
      const key = id.toLowerCase();
      groups.set(key, [...(groups.get(key) ?? []), id]);
    }
    const rename = new Map<string, string>();
    for (const ids of groups.values()) {
      const [first, ...rest] = ids as [string, ...string[]];
      const keep = this.refs.get(first)!;
      for (const other of rest) {
        const e = this.refs.get(other)!;
        for (const name of e.names) keep.names.add(name);
        keep.text ??= e.text;
        this.refs.delete(other);
        rename.set(other, first);
      }
    }
    return (expression) => rewriteRefs(expression, rename);
  }

  extracted(): ExtractedLicense[] {
    return [...this.refs.keys()].sort().map((licenseId) => {
      const e = this.refs.get(licenseId)!;
      // an expression that already used the id names it only by the id: a real name wins when there is one
      const named = [...e.names].filter((n) => n !== licenseId);
      const names = (named.length ? named : [...e.names]).sort();
      return {
        licenseId,
        name: names.join(' / ') || licenseId,
        extractedText:
          e.text ??
          `The package metadata declares the license ${names.map((n) => JSON.stringify(n)).join(', ')}, which is not on the SPDX License List; the license text is not part of the package metadata.`,
      };
    });
  }
}
