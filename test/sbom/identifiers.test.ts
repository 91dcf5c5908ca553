/** purls, UUIDs, SPDX ids, references and os-release parsing. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { emptyPackage } from '../../src/apk/types.ts';
import {
  apkChecksumSha1,
  apkPurl,
  ociPurl,
  parseReference,
  parseVcsUrl,
  purlEncode,
  spdxIdPart,
  uuidV5,
} from '../../src/sbom/identifiers.ts';
import { parseMaintainer } from '../../src/sbom/model.ts';
import { parseOsRelease } from '../../src/sbom/os-release.ts';
import { fixture } from '../helpers/paths.ts';
import { apkFiles } from '../helpers/sbom-inputs.ts';

const alpine = { ID: 'alpine', VERSION_ID: '3.19.1' };

describe('identifiers', () => {
  it('writes apk purls with purl-spec percent-encoding', () => {
    const pkg = { ...emptyPackage('libstdc++', '13.2.1_git20231014-r0'), arch: 'x86_64', origin: 'gcc' };
    assert.equal(
      apkPurl(pkg, alpine),
      'pkg:apk/alpine/libstdc%2B%2B@13.2.1_git20231014-r0?arch=x86_64&distro=alpine-3.19.1&upstream=gcc',
    );
    const plusVersion = { ...emptyPackage('py3-foo', '1.0+git2-r0'), arch: 'noarch', origin: 'py3-foo' };
    assert.equal(
      apkPurl(plusVersion, alpine),
      'pkg:apk/alpine/py3-foo@1.0%2Bgit2-r0?arch=noarch&distro=alpine-3.19.1',
    );
    // Wolfi's os-release has VERSION_ID; without it Syft uses BUILD_ID, then the bare ID
    assert.equal(
      apkPurl(emptyPackage('a', '1-r0'), { ID: 'wolfi', BUILD_ID: '20230201' }),
      'pkg:apk/wolfi/a@1-r0?distro=wolfi-20230201',
    );
    assert.equal(apkPurl(emptyPackage('a', '1-r0'), { ID: 'Wolfi' }), 'pkg:apk/wolfi/a@1-r0?distro=Wolfi');
    assert.equal(purlEncode("a b/c@d?e#f&g=h:i!'()*~"), 'a%20b%2Fc%40d%3Fe%23f%26g%3Dh:i%21%27%28%29%2A~');
    assert.equal(purlEncode('é'), '%C3%A9');
  });

  it('writes OCI purls like apko (plus repository_url and tag when known)', () => {
    const digest = `sha256:${'a'.repeat(64)}`;
    assert.equal(
      ociPurl(parseReference(undefined), digest, {
        arch: 'amd64',
        mediaType: 'application/vnd.oci.image.manifest.v1+json',
        os: 'linux',
      }),
      `pkg:oci/image@${digest}?arch=amd64&mediaType=application%2Fvnd.oci.image.manifest.v1%2Bjson&os=linux`,
    );
    const ref = parseReference('registry.example.com:5000/Team/Alpine-Base:3.19@sha256:abc');
    assert.deepEqual(ref, {
      repository: 'registry.example.com:5000/Team/Alpine-Base',
      name: 'alpine-base',
      tag: '3.19',
    });
    assert.equal(
      ociPurl(ref, digest, { mediaType: 'x' }),
      `pkg:oci/alpine-base@${digest}?mediaType=x&repository_url=registry.example.com:5000%2FTeam%2FAlpine-Base&tag=3.19`,
    );
    assert.deepEqual(parseReference('localhost:5000/x'), {
      repository: 'localhost:5000/x',
      name: 'x',
      tag: undefined,
    });
    assert.deepEqual(parseVcsUrl('https://github.com/chainguard-dev/apko@abc'), {
      url: 'https://github.com/chainguard-dev/apko',
      commit: 'abc',
      purl: 'pkg:github/chainguard-dev/apko@abc',
    });
    assert.deepEqual(parseVcsUrl('https://gitlab.com/a/b'), {
      url: 'https://gitlab.com/a/b',
      commit: undefined,
      purl: undefined,
    });
  });

  it("makes RFC 9562 version-5 UUIDs (the RFC's own test vector)", () => {
    // RFC 9562 appendix A.4: UUIDv5 of "www.example.com" in the DNS namespace
    assert.equal(
      uuidV5('www.example.com', '6ba7b810-9dad-11d1-80b4-00c04fd430c8'),
      '2ed6657d-e927-568b-95e1-2665a8aea6a2',
    );
    assert.match(uuidV5('anything'), /^[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
  });

  it('makes SPDX ids the way melange does, so embedded SBOM ids line up', () => {
    assert.equal(spdxIdPart('replayout-1.0.0-r0'), 'replayout-1.0.0-r0');
    assert.equal(spdxIdPart('libstdc++-13.2.1_git20231014-r0'), 'libstdcC43C43-13.2.1C95git20231014-r0');
    assert.equal(spdxIdPart('sha256:ab'), 'sha256-ab');
  });

  it('decodes apk C: checksums and maintainers', () => {
    assert.equal(
      apkChecksumSha1('Q1mcpyM8ftLHlvmaMjdLoBo6zq/Fo='),
      '99ca7233c7ed2c796f99a32374ba01a3aceafc5a',
    );
    assert.equal(apkChecksumSha1('Q2abc'), undefined);
    assert.equal(apkChecksumSha1('Q1AAAA'), undefined);
    assert.deepEqual(parseMaintainer('Natanael Copa <ncopa@alpinelinux.org>'), {
      name: 'Natanael Copa',
      email: 'ncopa@alpinelinux.org',
    });
    assert.deepEqual(parseMaintainer('<x@example.com>'), { name: 'x@example.com', email: 'x@example.com' });
    assert.deepEqual(parseMaintainer('Some Team'), { name: 'Some Team' });
    assert.equal(parseMaintainer('unknown'), undefined);
    assert.equal(parseMaintainer(' '), undefined);
  });

  it('parses os-release: the real Alpine file, quoting and comments', () => {
    const text = apkFiles(fixture('alpine/v3.19.1-iso-repo/x86_64/alpine-release-3.19.1-r0.apk'))
      .get('etc/os-release')!
      .toString('utf8');
    assert.deepEqual(
      { ...parseOsRelease(text) },
      {
        NAME: 'Alpine Linux',
        ID: 'alpine',
        VERSION_ID: '3.19.1',
        PRETTY_NAME: 'Alpine Linux v3.19',
        HOME_URL: 'https://alpinelinux.org/',
        BUG_REPORT_URL: 'https://gitlab.alpinelinux.org/alpine/aports/-/issues',
      },
    );
    assert.deepEqual(
      { ...parseOsRelease('# c\nA="x \\"y\\" \\$z"\nB=\'q\'\nbad line\nC=plain\n__proto__=1\n') },
      {
        A: 'x "y" $z',
        B: 'q',
        C: 'plain',
        ['__proto__']: '1',
      },
    );
  });
});
