/** apk license strings → SPDX expressions, over every distinct `L:` of the real Alpine v3.19 indexes. */
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { normalizeLicense } from '../../src/sbom/license.ts';
import { fuzzRuns } from '../helpers/fuzz.ts';
import { fixture } from '../helpers/paths.ts';
import { readIndex } from '../helpers/sbom-inputs.ts';
import { parseSpdxExpression } from '../helpers/sbom-integrity.ts';

const require = createRequire(import.meta.url);
const deprecatedIds = require('spdx-license-ids/deprecated.json') as string[];

const distinct = new Set<string>();
for (const repo of ['main', 'community']) {
  for (const p of readIndex(fixture(`alpine/indexes/v3.19-${repo}-x86_64-APKINDEX.tar.gz`))) {
    if (p.license !== undefined) distinct.add(p.license);
  }
}

/** The license ids (with exceptions) a parsed expression mentions. */
function leaves(node: unknown, out = new Set<string>()): Set<string> {
  const n = node as { license?: string; plus?: boolean; exception?: string; left?: unknown; right?: unknown };
  if (n.license !== undefined)
    out.add(`${n.license}${n.plus ? '+' : ''}${n.exception ? ` WITH ${n.exception}` : ''}`);
  if (n.left) leaves(n.left, out);
  if (n.right) leaves(n.right, out);
  return out;
}

const LICENSE_REF = /(?<![A-Za-z0-9.:-])LicenseRef-[A-Za-z0-9.-]+/g;

describe('license normalisation', () => {
  it('turns every distinct L: of Alpine v3.19 main + community into an expression that parses', (t) => {
    assert.ok(distinct.size > 550, `only ${distinct.size} distinct license strings`);
    let changed = 0;
    let withRefs = 0;
    for (const raw of distinct) {
      const n = normalizeLicense(raw);
      assert.ok(n !== undefined, `no expression for ${JSON.stringify(raw)}`);
      assert.doesNotThrow(
        () => parseSpdxExpression(n.expression),
        `${JSON.stringify(raw)} → ${n.expression}`,
      );
      // every LicenseRef in the expression is reported with the text it stands for, and nothing else is
      assert.deepEqual([...new Set(n.expression.match(LICENSE_REF) ?? [])].sort(), [...n.refs.keys()], raw);
      for (const names of n.refs.values()) assert.ok(names.length > 0);
      // normalising twice changes nothing
      assert.equal(normalizeLicense(n.expression)?.expression, n.expression, raw);
      if (n.expression !== raw) changed++;
      if (n.refs.size) withRefs++;
    }
    t.diagnostic(`${distinct.size} distinct strings; ${changed} rewritten; ${withRefs} need a LicenseRef`);
  });

  it('keeps what already was valid SPDX: the same licenses and exceptions', () => {
    const deprecated = new Set(deprecatedIds);
    for (const raw of distinct) {
      let parsed: unknown;
      try {
        parsed = parseSpdxExpression(raw);
      } catch {
        continue;
      }
      const ids = leaves(parsed);
      if ([...ids].some((id) => deprecated.has(id.split(/[+ ]/)[0]!))) continue;
      assert.deepEqual(leaves(parseSpdxExpression(normalizeLicense(raw)!.expression)), ids, raw);
    }
  });

  it('repairs the tricky strings as expected', () => {
    const cases: [string, string][] = [
      ['MIT', 'MIT'],
      ['MIT Apache-2.0', 'MIT AND Apache-2.0'],
      ['GPL-2.0-only,GPL-2.0-or-later,GPL-3.0-only', 'GPL-2.0-only AND GPL-2.0-or-later AND GPL-3.0-only'],
      ['GPL-2.0+', 'GPL-2.0-or-later'],
      ['GPL-3.0+', 'GPL-3.0-or-later'],
      ['LGPL-2.0+', 'LGPL-2.0-or-later'],
      ['GPLv2+', 'GPL-2.0-or-later'],
      ['GPL-2-or-later', 'GPL-2.0-or-later'],
      ['GPL-2.0', 'GPL-2.0-only'],
      ['AGPL-3.0', 'AGPL-3.0-only'],
      ['LGPL 2.1', 'LGPL-2.1-only'],
      ['GPL-2.0 or Artistic-1.0-Perl', 'GPL-2.0-only OR Artistic-1.0-Perl'],
      ['GPL+ or Artistic', 'GPL-1.0-or-later OR LicenseRef-Artistic'],
      ['Artistic-Perl-1.0 GPL+', 'Artistic-1.0-Perl AND GPL-1.0-or-later'],
      ['PerlArtistic', 'Artistic-1.0-Perl'],
      ['Apache-2', 'Apache-2.0'],
      ['Apache-2.0 license', 'Apache-2.0'],
      ['Artistic License 2.0', 'Artistic-2.0'],
      ['ZLib', 'Zlib'],
      ['unlicense', 'Unlicense'],
      ['Apache-2.0 WITH LLVM-Exception', 'Apache-2.0 WITH LLVM-exception'],
      ['GPL-2.0-with-classpath-exception', 'GPL-2.0-only WITH Classpath-exception-2.0'],
      ['GPL-3.0-with-GCC-exception', 'GPL-3.0-only WITH GCC-exception-3.1'],
      ['GPL-2.0-or-later-with-sane-exception', 'GPL-2.0-or-later WITH SANE-exception'],
      ['LGPL-2.1-or-later-WITH-linking-exception', 'LGPL-2.1-or-later AND LicenseRef-linking-exception'],
      ['GPL-2.0-only WITH OpenSSL-Exception', 'GPL-2.0-only AND LicenseRef-OpenSSL-Exception'],
      [
        '(LGPL-2.1-only OR LGPL-3.0-only) AND LGPL-2.1-only AND ((LGPL-2.1-only WITH Nokia-Qt-exception-1.1) OR (GPL-3.0-only WITH Nokia-Qt-exception-1.1))',
        '(LGPL-2.1-only OR LGPL-3.0-only) AND LGPL-2.1-only AND (LGPL-2.1-only WITH Qt-LGPL-exception-1.1 OR GPL-3.0-only WITH Qt-LGPL-exception-1.1)',
      ],
      [
        'LGPL-2.1-only AND GPL-3.0-only AND Qt-GPL-exception-1.0',
        'LGPL-2.1-only AND GPL-3.0-only AND LicenseRef-Qt-GPL-exception-1.0',
      ],
      ['MIT AND (LGPL-2.1-only OR LGPL-3.0-only', 'MIT AND (LGPL-2.1-only OR LGPL-3.0-only)'],
      ['GPL-3.0-or-later AND MIT AND AND Apache-2.0', 'GPL-3.0-or-later AND MIT AND Apache-2.0'],
      ['( Apache-2.0 OR MIT ) AND MPL-2.0', '(Apache-2.0 OR MIT) AND MPL-2.0'],
      [
        'LGPL-2.0-or-later and GPL-2.0-or-later or BSD-3-Clause',
        'LGPL-2.0-or-later AND GPL-2.0-or-later OR BSD-3-Clause',
      ],
      [
        'GPL-2.0-or-later (LGPL-2.1-only OR LGPL-3.0-only)',
        'GPL-2.0-or-later AND (LGPL-2.1-only OR LGPL-3.0-only)',
      ],
      [
        'GPL-2.0-or-later GPL-2.0-or-later-with-sane-exception Public-Domain',
        'GPL-2.0-or-later AND GPL-2.0-or-later WITH SANE-exception AND LicenseRef-Public-Domain',
      ],
      ['Public Domain', 'LicenseRef-Public-Domain'],
      ['PublicDomain', 'LicenseRef-Public-Domain'],
      ['custom', 'LicenseRef-custom'],
      ['custom:wxWidgets', 'LicenseRef-custom-wxWidgets'],
      ['custom:Ubuntu Font License 1.0', 'LicenseRef-custom-Ubuntu-Font-License-1.0'],
      ['osf-1990(variant)', 'LicenseRef-osf-1990-variant'],
      ['LicenseRef-KDE-Accepted-GPL AND CC0-1.0', 'LicenseRef-KDE-Accepted-GPL AND CC0-1.0'],
      ['BSD2', 'BSD-2-Clause'],
      ['MIT AND MIT', 'MIT'],
      ['Apache-2.0+', 'Apache-2.0+'],
    ];
    for (const [raw, expected] of cases) assert.equal(normalizeLicense(raw)?.expression, expected, raw);
    assert.deepEqual(
      [...normalizeLicense('Public Domain and PublicDomain')!.refs],
      [['LicenseRef-Public-Domain', ['Public Domain', 'PublicDomain']]],
    );
    assert.equal(normalizeLicense(''), undefined);
    assert.equal(normalizeLicense(' ( ) AND '), undefined);
    assert.equal(normalizeLicense(undefined), undefined);
  });

  it('replaces every deprecated SPDX id by a current expression', () => {
    const deprecated = new Set(deprecatedIds);
    for (const id of deprecatedIds) {
      const n = normalizeLicense(id)!;
      assert.doesNotThrow(() => parseSpdxExpression(n.expression), n.expression);
      const kept = [...leaves(parseSpdxExpression(n.expression))].filter((l) =>
        deprecated.has(l.split(/[+ ]/)[0]!),
      );
      // Net-SNMP has no single replacement on the SPDX list; it stays (deprecated ids are still valid)
      assert.deepEqual(kept, id === 'Net-SNMP' ? ['Net-SNMP'] : [], `${id} → ${n.expression}`);
    }
  });

  it('never throws and always yields a parseable, stable expression, whatever the input', () => {
    const words = fc.constantFrom(
      ...[
        'MIT',
        'GPL-2.0+',
        'and',
        'OR',
        'WITH',
        '(',
        ')',
        ',',
        'custom:x',
        'LLVM-exception',
        'GPLv3',
        'Public',
        'Domain',
      ],
      ...[
        'LicenseRef-a',
        '2.1',
        'license',
        '-with-',
        '+',
        'eCos-2.0',
        'x(y',
        'Nokia-Qt-exception-1.1',
        '__proto__',
      ],
    );
    const text = fc.oneof(
      fc.string({ maxLength: 40 }),
      fc.array(words, { maxLength: 12 }).map((w) => w.join(' ')),
      fc.array(words, { maxLength: 12 }).map((w) => w.join('')),
    );
    fc.assert(
      fc.property(text, (raw) => {
        const n = normalizeLicense(raw);
        if (n === undefined) return;
        parseSpdxExpression(n.expression);
        assert.equal(normalizeLicense(n.expression)?.expression, n.expression);
      }),
      fuzzRuns(400, 2000),
    );
  });
});
