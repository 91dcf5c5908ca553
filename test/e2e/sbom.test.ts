/**
 * SBOMs of real builds (issue 5): `lading build` of alpine-base (fixture ISO repository, also over HTTP with
 * credentials), of packages with unusual metadata made here, and of apko's melange-built test packages for
 * x86_64 + aarch64 (replayout and pretend-baselayout ship their own SPDX documents). Every document is checked
 * against the official schemas and against the image it describes (test/sbom/built-image.ts).
 */
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { alpineKey, isoRepoDir, ladingBuild, writeAlpineConfig } from '../helpers/build.ts';
import { makeKey } from '../helpers/make-repo.ts';
import { fixture } from '../helpers/paths.ts';
import { type RepoServer, startRepoServer } from '../helpers/repo-server.ts';
import {
  apkPackages,
  assertSameBytes,
  checkEmbeddedMerged,
  checkImageDocuments,
  checkIndexDocuments,
  layerFiles,
  OCI_ARCH,
  readJson,
  readLayout,
  sbomNames,
  validateAll,
} from '../helpers/sbom-built-image.ts';
import { type CdxDoc, parseSpdxExpression, purlOf, type SpdxDoc } from '../helpers/sbom-integrity.ts';
import { lading, ladingAsync, tempDir } from '../helpers/tools.ts';

const FORMATS = ['--sbom-formats', 'spdx,cyclonedx'];
const APKO = 'apko/internal/cli/testdata';

describe('SBOMs of real builds', () => {
  const tmp = tempDir('lading-sbom-');
  const dir = (...parts: string[]) => {
    const p = join(tmp.path, ...parts);
    mkdirSync(p, { recursive: true });
    return p;
  };
  let server: RepoServer | undefined;
  /** The digest each build printed, by build directory. */
  const printed = new Map<string, string>();
  after(async () => {
    await server?.close();
    tmp.remove();
  });

  describe('alpine-base', () => {
    const cache = join(tmp.path, 'cache-alpine');
    const config = writeAlpineConfig(dir('alpine'), 'alpine-base.yaml', ['alpine-base']);
    const names = sbomNames(['x86_64']);

    before(() => {
      // cold cache, OCI layout, SBOMs beside it under apko's names (the default names them after OUT)
      let r = ladingBuild(config, 'alpine-base:latest', dir('a1', 'layout'), cache, [
        ...FORMATS,
        '--sbom-path',
        dir('a1'),
      ]);
      assert.equal(r.status, 0, r.stderr);
      printed.set('a1', r.stdout.trim());
      // warm cache, docker archive, SBOMs in a directory given relative to the working directory
      r = ladingBuild(
        config,
        'alpine-base:latest',
        'alpine.tar',
        cache,
        [...FORMATS, '--sbom-path', 'out/sboms'],
        {
          cwd: dir('a2'),
        },
      );
      assert.equal(r.status, 0, r.stderr);
      r = ladingBuild(config, 'alpine-base:latest', join(dir('a3'), 'alpine.tar'), cache, ['--sbom=false']);
      assert.equal(r.status, 0, r.stderr);
      r = ladingBuild(config, 'alpine-base:latest', join(dir('a4'), 'alpine.tar'), cache, [
        '--no-sbom',
        '--sbom-path',
        join(tmp.path, 'a4', 'sboms'),
      ]);
      assert.equal(r.status, 0, r.stderr);
    });

    it('every document validates (SPDX 2.3 schema, CycloneDX 1.6 strict validator) and is consistent', async () => {
      await validateAll(join(tmp.path, 'a1'), names);
    });

    it('lists exactly the installed packages, with the OS, purls, supplier and graph of the image', () => {
      const { spdx, installed } = checkImageDocuments({
        sbomDir: join(tmp.path, 'a1'),
        layout: join(tmp.path, 'a1', 'layout'),
        apkArch: 'x86_64',
        repoArchDir: join(isoRepoDir(), 'x86_64'),
        reference: { name: 'alpine-base', tag: 'latest' },
      });
      assert.equal(installed.length, 25);
      // ssl_client is installed because busybox and libssl3 are (install_if): neither depends on it
      const ids = new Map(apkPackages(spdx).map((p) => [p.name, p.SPDXID]));
      assert.ok(ids.has('ssl_client'));
      assert.ok(
        !spdx.relationships.some(
          (r) => r.relationshipType === 'DEPENDS_ON' && r.relatedSpdxElement === ids.get('ssl_client'),
        ),
      );
    });

    it('the index documents name the index and image written', () => {
      checkIndexDocuments(
        join(tmp.path, 'a1'),
        join(tmp.path, 'a1', 'layout'),
        ['x86_64'],
        'alpine-base',
        printed.get('a1')!,
      );
    });

    it('is byte-identical from a cold and a warm cache, written where --sbom-path says', () => {
      assert.deepEqual(readdirSync(join(tmp.path, 'a2')).sort(), ['alpine.tar', 'out']);
      assertSameBytes(
        join(tmp.path, 'a1'),
        join(tmp.path, 'a2', 'out', 'sboms'),
        names,
        'cold vs warm cache',
      );
    });

    it('--sbom=false and --no-sbom write no SBOM', () => {
      assert.deepEqual(readdirSync(join(tmp.path, 'a3')), ['alpine.tar']);
      assert.deepEqual(readdirSync(join(tmp.path, 'a4')), ['alpine.tar']);
      assert.ok(!existsSync(join(tmp.path, 'a4', 'sboms')));
    });

    it('from an HTTP repository: the .apk URLs as download locations, never the credentials', async () => {
      server = await startRepoServer();
      server.requireAuthorization = `Basic ${Buffer.from('builder:s3cret-token').toString('base64')}`;
      const url = new URL(server.url);
      const withAuth = `http://builder:s3cret-token@${url.host}/repo`;
      const yaml = join(dir('http'), 'alpine-base.yaml');
      writeFileSync(
        yaml,
        `contents:\n  repositories:\n    - ${withAuth}\n  keyring:\n    - ${alpineKey()}\n  packages:\n    - alpine-base\narchs: [x86_64]\n`,
      );
      const out = join(tmp.path, 'http', 'alpine.tar');
      const r = await ladingAsync([
        'build',
        yaml,
        'alpine-base:latest',
        out,
        '--cache-dir',
        join(tmp.path, 'cache-http'),
        '--log-level',
        'warn',
        ...FORMATS,
        '--sbom-path',
        join(tmp.path, 'http'),
      ]);
      assert.equal(r.status, 0, r.stderr);
      await validateAll(join(tmp.path, 'http'), names);
      const spdxText = readFileSync(join(tmp.path, 'http', 'sbom-x86_64.spdx.json'), 'utf8');
      const cdxText = readFileSync(join(tmp.path, 'http', 'sbom-x86_64.cdx.json'), 'utf8');
      assert.ok(!spdxText.includes('s3cret') && !cdxText.includes('s3cret'), 'credentials in the SBOM');
      const spdx = JSON.parse(spdxText) as SpdxDoc;
      const pkgs = apkPackages(spdx);
      assert.equal(pkgs.length, 25);
      for (const p of pkgs) {
        assert.equal(p.downloadLocation, `${server.url}/repo/x86_64/${p.name}-${p.versionInfo}.apk`);
      }
      const cdx = JSON.parse(cdxText) as CdxDoc;
      const busybox = cdx.components.find((c) => c.name === 'busybox')!;
      assert.deepEqual(
        busybox.externalReferences?.find((e) => e.type === 'distribution')?.url,
        `${server.url}/repo/x86_64/busybox-1.36.1-r15.apk`,
      );
    });
  });

  describe('packages with unusual metadata: custom licenses, `+` in names, no maintainer e-mail, BUILD_ID', () => {
    const root = join(tmp.path, 'odd');
    const archDir = join(root, 'repo', 'x86_64');
    const toolSbom = {
      SPDXID: 'SPDXRef-DOCUMENT',
      spdxVersion: 'SPDX-2.3',
      name: 'apk-tool-1.0-r0',
      dataLicense: 'CC0-1.0',
      documentNamespace: 'https://example.com/spdx/tool-1.0-r0',
      creationInfo: { created: '2024-01-01T00:00:00Z', creators: ['Tool: hand-written'] },
      documentDescribes: ['SPDXRef-Package-apk-tool-1.0-r0'],
      packages: [
        {
          SPDXID: 'SPDXRef-Package-apk-tool-1.0-r0',
          name: 'tool',
          versionInfo: '1.0-r0',
          downloadLocation: 'NOASSERTION',
          filesAnalyzed: false,
          licenseDeclared: 'LicenseRef-Public-Domain',
          externalRefs: [
            {
              referenceCategory: 'SECURITY',
              referenceType: 'cpe23Type',
              referenceLocator: 'cpe:2.3:a:example:tool:1.0:*:*:*:*:*:*:*',
            },
          ],
        },
        {
          SPDXID: 'SPDXRef-Package-vendored-lib-0.9',
          name: 'vendored-lib',
          versionInfo: '0.9',
          downloadLocation: 'https://vendored.example/vendored-lib-0.9.tar.gz',
          filesAnalyzed: false,
          licenseConcluded: 'NOASSERTION',
          licenseDeclared: 'LicenseRef-vendored OR MIT',
        },
      ],
      hasExtractedLicensingInfos: [
        { licenseId: 'LicenseRef-vendored', name: 'Vendored License', extractedText: 'You may vendor this.' },
        {
          licenseId: 'LicenseRef-Public-Domain',
          name: 'Public Domain',
          extractedText: 'No rights reserved.',
        },
      ],
      relationships: [
        {
          spdxElementId: 'SPDXRef-Package-apk-tool-1.0-r0',
          relationshipType: 'CONTAINS',
          relatedSpdxElement: 'SPDXRef-Package-vendored-lib-0.9',
        },
      ],
    };
    const packages: { name: string; version: string; files: Record<string, string>; flags: string[] }[] = [
      {
        name: 'testos-base',
        version: '1.0-r0',
        files: {
          'etc/os-release':
            'ID=testos\nNAME="Test OS"\nBUILD_ID=20240101\nHOME_URL="https://testos.example/"\n',
        },
        flags: ['--license', 'MIT', '--maintainer', 'Base Team <base@testos.example>'],
      },
      {
        name: 'libfoo++',
        version: '2.1-r3',
        files: { 'usr/lib/libfoo++.so.2': 'not really a library\n' },
        flags: [
          ...['--license', 'GPL-2.0+ and custom:Foo Bar License', '--maintainer', 'Jane Packager'],
          ...['--origin', 'foo', '--url', 'https://foo.example/', '--depends', 'testos-base'],
        ],
      },
      {
        name: 'tool',
        version: '1.0-r0',
        files: {
          'usr/bin/tool': '#!/bin/sh\n',
          'var/lib/db/sbom/tool-1.0-r0.spdx.json': JSON.stringify(toolSbom, null, 2),
        },
        flags: ['--license', 'Public Domain', '--depends', 'libfoo++'],
      },
    ];
    let spdx: SpdxDoc;
    let cdx: CdxDoc;

    before(() => {
      const key = makeKey(join(root, 'keys'));
      mkdirSync(archDir, { recursive: true });
      for (const p of packages) {
        const src = join(root, 'src', p.name);
        for (const [path, content] of Object.entries(p.files)) {
          mkdirSync(dirname(join(src, path)), { recursive: true });
          writeFileSync(join(src, path), content);
        }
        const apk = join(archDir, `${p.name}-${p.version}.apk`);
        const r = lading([
          ...['package', src, '-o', apk, '--name', p.name, '--version', p.version, '--arch', 'x86_64'],
          ...['--key', key.privateKey, '--root-owned', ...p.flags],
        ]);
        assert.equal(r.status, 0, r.stderr);
      }
      const apks = packages.map((p) => join(archDir, `${p.name}-${p.version}.apk`));
      let r = lading(['index', '--key', key.privateKey, '-o', join(archDir, 'APKINDEX.tar.gz'), ...apks]);
      assert.equal(r.status, 0, r.stderr);
      const config = join(root, 'odd.yaml');
      writeFileSync(
        config,
        `contents:\n  repositories: [${join(root, 'repo')}]\n  keyring: [${key.key}]\n  packages: [tool]\narchs: [x86_64]\n`,
      );
      r = ladingBuild(
        config,
        'registry.example.com/team/odd:1.0',
        dir('odd', 'layout'),
        join(root, 'cache'),
        [...FORMATS, '--sbom-path', root],
      );
      assert.equal(r.status, 0, r.stderr);
      spdx = readJson<SpdxDoc>(join(root, 'sbom-x86_64.spdx.json'));
      cdx = readJson<CdxDoc>(join(root, 'sbom-x86_64.cdx.json'));
    });

    it('every document validates and is consistent (LicenseRefs defined once, all used)', async () => {
      await validateAll(root, sbomNames(['x86_64']));
    });

    it('lists the installed packages with the OS from BUILD_ID and purls scanners match', () => {
      const layout = join(root, 'layout');
      checkImageDocuments({
        sbomDir: root,
        layout,
        apkArch: 'x86_64',
        repoArchDir: archDir,
        reference: { name: 'odd', tag: '1.0', repositoryUrl: 'registry.example.com/team/odd' },
      });
      const byName = new Map(apkPackages(spdx).map((p) => [p.name, p]));
      const libfoo = byName.get('libfoo++')!;
      assert.equal(
        purlOf(libfoo),
        'pkg:apk/testos/libfoo%2B%2B@2.1-r3?arch=x86_64&distro=testos-20240101&upstream=foo',
      );
      assert.equal(libfoo.originator, 'Person: Jane Packager');
      const files = layerFiles(layout, 'amd64');
      checkEmbeddedMerged(files, ['var/lib/db/sbom/tool-1.0-r0.spdx.json'], spdx, cdx);
    });

    it('turns apk license strings into valid expressions and defines every LicenseRef', () => {
      const byName = new Map(apkPackages(spdx).map((p) => [p.name, p]));
      const extracted = new Map((spdx.hasExtractedLicensingInfos ?? []).map((l) => [l.licenseId, l]));
      const libfoo = byName.get('libfoo++')!.licenseDeclared!;
      assert.match(libfoo, /^GPL-2\.0-or-later AND LicenseRef-[A-Za-z0-9.-]+$/);
      const custom = extracted.get(libfoo.replace('GPL-2.0-or-later AND ', ''))!;
      assert.match(custom.name, /custom:Foo Bar License/);
      // "Public Domain" from apk and the package's own LicenseRef-Public-Domain are one reference, with its text
      assert.equal(byName.get('tool')!.licenseDeclared, 'LicenseRef-Public-Domain');
      const vendored = spdx.packages.find((p) => p.name === 'vendored-lib')!;
      assert.equal(vendored.licenseDeclared, 'LicenseRef-vendored OR MIT');
      assert.deepEqual(
        { ...extracted.get('LicenseRef-vendored') },
        { licenseId: 'LicenseRef-vendored', name: 'Vendored License', extractedText: 'You may vendor this.' },
      );
      for (const p of spdx.packages) {
        for (const e of [p.licenseDeclared, p.licenseConcluded]) {
          if (e && e !== 'NOASSERTION' && e !== 'NONE') assert.doesNotThrow(() => parseSpdxExpression(e), e);
        }
      }
      // CycloneDX carries the same expressions, and the CPE the package's own SBOM gave
      const component = (name: string) => cdx.components.find((c) => c.name === name)!;
      assert.deepEqual(component('libfoo++').licenses, [{ expression: libfoo }]);
      assert.deepEqual(component('vendored-lib').licenses, [{ expression: 'LicenseRef-vendored OR MIT' }]);
      assert.equal(component('tool').cpe, 'cpe:2.3:a:example:tool:1.0:*:*:*:*:*:*:*');
    });
  });

  describe('melange-built packages with their own SBOMs, x86_64 + aarch64', () => {
    const archs = ['x86_64', 'aarch64'];
    const names = sbomNames(archs);
    const cache = join(tmp.path, 'cache-wolfi');
    const config = join(dir('wolfi'), 'replayout.yaml');
    writeFileSync(
      config,
      `contents:
  keyring:
    - ${fixture(APKO, 'melange.rsa.pub')}
  repositories:
    - ${fixture(APKO, 'packages')}
  packages:
    - replayout
entrypoint:
  command: /bin/sh -l
archs: [x86_64, aarch64]
`,
    );

    before(() => {
      for (const run of ['w1', 'w2']) {
        // w1 cold, w2 warm
        const r = ladingBuild(config, 'golden:latest', dir(run, 'layout'), cache, [
          ...FORMATS,
          '--sbom-path',
          join(tmp.path, run, 'sboms'),
        ]);
        assert.equal(r.status, 0, r.stderr);
        printed.set(run, r.stdout.trim());
      }
    });

    it('every document validates and is consistent', async () => {
      await validateAll(join(tmp.path, 'w1', 'sboms'), names);
    });

    for (const apkArch of archs) {
      it(`${apkArch}: lists the installed packages and merges the SBOMs they ship`, () => {
        const layout = join(tmp.path, 'w1', 'layout');
        const { spdx, cdx, installed } = checkImageDocuments({
          sbomDir: join(tmp.path, 'w1', 'sboms'),
          layout,
          apkArch,
          repoArchDir: fixture(APKO, 'packages', apkArch),
          reference: { name: 'golden', tag: 'latest' },
        });
        assert.deepEqual(installed.map((r) => r.name).sort(), ['pretend-baselayout', 'replayout']);

        // each embedded document (read from the image) contributes everything reachable from what it describes
        const files = layerFiles(layout, OCI_ARCH[apkArch]!);
        const embedded = [...files.keys()]
          .filter((p) => /^var\/lib\/db\/sbom\/.*\.spdx\.json$/.test(p))
          .sort();
        assert.deepEqual(embedded, [
          'var/lib/db/sbom/pretend-baselayout-1.0.0-r0.spdx.json',
          'var/lib/db/sbom/replayout-1.0.0-r0.spdx.json',
        ]);
        checkEmbeddedMerged(files, embedded, spdx, cdx);
        // the melange placeholder OS ("unknown") is not reachable from replayout and not copied
        assert.ok(!spdx.packages.some((p) => p.name === 'unknown'));
        assert.ok(spdx.packages.length > installed.length + 3);
      });
    }

    it('the index documents list both images, as written to the layout', () => {
      const layout = join(tmp.path, 'w1', 'layout');
      assert.equal(readLayout(layout).indexDigest, printed.get('w1'), 'the index is stored in the layout');
      checkIndexDocuments(join(tmp.path, 'w1', 'sboms'), layout, archs, 'golden', printed.get('w1')!);
    });

    it('two builds (cold and warm cache) write byte-identical SBOMs', () => {
      assertSameBytes(
        join(tmp.path, 'w1', 'sboms'),
        join(tmp.path, 'w2', 'sboms'),
        names,
        'cold vs warm cache',
      );
      // and nothing beside the layouts: --sbom-path took them all
      assert.deepEqual(readdirSync(join(tmp.path, 'w1')).sort(), ['layout', 'sboms']);
    });
  });
});
