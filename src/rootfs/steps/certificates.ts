/**
 * Extra CA certificates (apko's `certificates`), an emulation of `update-ca-certificates`:
 * - `additional` {name, content}: exactly one PEM CERTIFICATE block (checked with X509Certificate),
 *   written re-encoded to `/usr/local/share/ca-certificates/<name>-<sha256 of DER>.crt` (0644) and
 *   appended (PEM + blank line, the bundle's own layout) to every CA bundle present in the image;
 * - `providers`: the certificates the caller's packages ship under usr/local/share/ca-certificates/
 *   (`*.crt`, `*.pem`, sorted; every CERTIFICATE block of a file) are appended the same way. A file with
 *   no usable certificate is skipped with a warning (apko skips silently).
 * Better than apko: a certificate already in a bundle is not appended again, and having nothing to
 * append to is reported as a warning. The Java truststore (`/etc/ssl/certs/java/cacerts`, JKS) is not
 * updated: a warning says so when it exists. Bundles keep their mode and owner; changed files get the
 * build date as mtime.
 * `writeCaChecksumSidecars` writes apko's `.<name>.sha256` files (`<sha256 hex>  <name>\n`, 0444) next
 * to every CA store that exists, whether or not certificates were added (as apko does).
 */
import { createHash, X509Certificate } from 'node:crypto';
import { baseName, joinPath, parentOf } from '../../fs/path.ts';
import type { ImageFS } from '../../fs/tree.ts';
import {
  inContext,
  type SourceLocation,
  type StepTime,
  show,
  stepError,
  writeGeneratedFile,
} from './common.ts';

export interface CertificateInput {
  name: string;
  /** PEM text holding one certificate. */
  content: string;
  at?: SourceLocation;
}

/** An installed package that provides one of `certificates.providers`, with the image paths it owns. */
export interface CertificateProvider {
  package: string;
  files: readonly string[];
}

export interface CertificatesInput {
  additional?: readonly CertificateInput[];
  providers?: readonly CertificateProvider[];
}

export interface CertificatesResult {
  /** Files written under usr/local/share/ca-certificates. */
  written: string[];
  /** Bundles that received certificates (canonical paths). */
  bundles: string[];
  /** Certificates appended (each counted once, whatever the number of bundles). */
  appended: number;
  warnings: string[];
}

/** The CA bundles apko appends to, when present. */
export const CA_BUNDLES = [
  'etc/ssl/certs/ca-certificates.crt',
  'var/lib/ecs/deps/execute-command/certs/tls-ca-bundle.pem',
  'kaniko/ssl/certs/ca-certificates.crt',
] as const;
export const JAVA_TRUSTSTORE = 'etc/ssl/certs/java/cacerts';
export const LOCAL_CA_DIR = 'usr/local/share/ca-certificates';
const NAME = /^[a-zA-Z0-9_-]+[a-zA-Z0-9_.-]*$/;
const PEM_BLOCK = /-----BEGIN ([A-Z0-9 ]+)-----\r?\n?([\s\S]*?)-----END \1-----/g;

/** A parsed certificate: DER bytes, canonical PEM, SHA-256 fingerprint (hex). */
export interface ParsedCertificate {
  der: Buffer;
  pem: string;
  fingerprint: string;
}

interface PemBlock {
  label: string;
  body: string;
}

function pemBlocks(text: string): PemBlock[] {
  return [...text.matchAll(PEM_BLOCK)].map((m) => ({ label: m[1]!, body: m[2]! }));
}

/** DER bytes of a PEM body, or undefined when it is not clean base64. */
function decodeBody(body: string): Buffer | undefined {
  const b64 = body.replace(/\s+/g, '');
  if (b64 === '' || !/^[A-Za-z0-9+/]+={0,2}$/.test(b64)) return undefined;
  return Buffer.from(b64, 'base64');
}

/** Standard PEM: 64-column base64 between the armour lines, ending in a newline. */
export function encodePem(label: string, der: Buffer): string {
  const b64 = der.toString('base64');
  let out = `-----BEGIN ${label}-----\n`;
  for (let i = 0; i < b64.length; i += 64) out += `${b64.slice(i, i + 64)}\n`;
  return `${out}-----END ${label}-----\n`;
}

function certFromDer(der: Buffer): ParsedCertificate {
  const x = new X509Certificate(der); // throws when it is not a certificate
  const raw = Buffer.from(x.raw);
  return {
    der: raw,
    pem: encodePem('CERTIFICATE', raw),
    fingerprint: createHash('sha256').update(raw).digest('hex'),
  };
}

/** Every parseable CERTIFICATE block of a PEM text, plus how many blocks failed to parse. */
export function parseCertificates(text: string): { certs: ParsedCertificate[]; bad: number } {
  const certs: ParsedCertificate[] = [];
  let bad = 0;
  for (const b of pemBlocks(text)) {
    if (b.label !== 'CERTIFICATE') continue;
    const der = decodeBody(b.body);
    try {
      if (der === undefined) throw new Error('bad base64');
      certs.push(certFromDer(der));
    } catch {
      bad++;
    }
  }
  return { certs, bad };
}

function checkAdditional(c: CertificateInput, label: string): ParsedCertificate {
  if (!NAME.test(c.name)) {
    throw stepError(
      'CERT_BAD_NAME',
      `${label}: name ${JSON.stringify(c.name)} cannot be a file name`,
      c.at,
      'use letters, digits, "_", "-" and "." (not first)',
    );
  }
  const blocks = pemBlocks(c.content);
  const certBlocks = blocks.filter((b) => b.label === 'CERTIFICATE');
  if (certBlocks.length !== 1 || blocks.length !== 1) {
    const others = blocks.filter((b) => b.label !== 'CERTIFICATE').map((b) => b.label);
    throw stepError(
      'CERT_NOT_ONE',
      `${label}: content must hold exactly one PEM CERTIFICATE block, found ${certBlocks.length}` +
        (others.length > 0 ? ` and ${others.join(', ')}` : ''),
      c.at,
      'give each certificate its own entry, and never put private keys in the config',
    );
  }
  const der = decodeBody(certBlocks[0]!.body);
  try {
    if (der === undefined) throw new Error('the base64 body is malformed');
    return certFromDer(der);
  } catch (e) {
    throw stepError(
      'CERT_INVALID',
      `${label}: content is not a valid X.509 certificate (${(e as Error).message})`,
      c.at,
      'paste the PEM exactly as issued (-----BEGIN CERTIFICATE----- … -----END CERTIFICATE-----)',
    );
  }
}

/** Installs the configured certificates and appends them to the image's CA bundles. */
export function installCertificates(
  fs: ImageFS,
  input: CertificatesInput,
  time: StepTime,
): CertificatesResult {
  const result: CertificatesResult = { written: [], bundles: [], appended: 0, warnings: [] };
  const toAppend: ParsedCertificate[] = [];

  const names = new Map<string, number>();
  (input.additional ?? []).forEach((c, i) => {
    const label = `certificates.additional[${i}] (${c.name})`;
    const cert = checkAdditional(c, label);
    const earlier = names.get(c.name);
    if (earlier !== undefined) {
      throw stepError(
        'CERT_DUPLICATE',
        `${label}: the name ${c.name} is used twice (also certificates.additional[${earlier}])`,
        c.at,
        'give each certificate its own name',
      );
    }
    names.set(c.name, i);
    const path = `${LOCAL_CA_DIR}/${c.name}-${cert.fingerprint}.crt`;
    result.written.push(
      inContext(label, c.at, () =>
        writeGeneratedFile(fs, path, cert.pem, {
          mtime: time.mtime,
          mode: 0o644,
          uid: 0,
          gid: 0,
          forceAttrs: true,
        }),
      ),
    );
    toAppend.push(cert);
  });

  for (const provider of input.providers ?? []) {
    const files = provider.files
      .map((f) => f.replace(/^\/+/, ''))
      .filter((f) => f.startsWith(`${LOCAL_CA_DIR}/`) && /\.(crt|pem)$/.test(f))
      .sort();
    for (const f of files) {
      const node = fs.stat(f);
      if (node?.type !== 'file') {
        result.warnings.push(
          `certificates: ${show(f)} of package ${provider.package} is not in the image; skipped`,
        );
        continue;
      }
      const { certs, bad } = parseCertificates(fs.readFile(f).toString('latin1'));
      if (certs.length === 0 || bad > 0) {
        result.warnings.push(
          `certificates: ${show(f)} of package ${provider.package} ` +
            (certs.length === 0
              ? 'holds no usable certificate; skipped'
              : `has ${bad} unreadable certificate(s); they were skipped`),
        );
      }
      toAppend.push(...certs);
    }
  }

  if (toAppend.length === 0) return result;
  const present = CA_BUNDLES.filter((b) => fs.stat(b)?.type === 'file');
  if (present.length === 0) {
    result.warnings.push(
      'certificates: the image has no CA bundle (/etc/ssl/certs/ca-certificates.crt); the certificates were installed ' +
        `under /${LOCAL_CA_DIR} only — add ca-certificates-bundle (Alpine) or ca-certificates (Wolfi) to use them`,
    );
  }
  const done = new Set<string>();
  const appendedFingerprints = new Set<string>();
  for (const bundle of present) {
    const canonical = fs.resolve(bundle, true)!;
    if (done.has(canonical)) continue;
    done.add(canonical);
    const text = fs.readFile(canonical).toString('latin1');
    const have = new Set(parseCertificates(text).certs.map((c) => c.fingerprint));
    let add = '';
    for (const c of toAppend) {
      if (have.has(c.fingerprint)) continue;
      have.add(c.fingerprint);
      appendedFingerprints.add(c.fingerprint);
      add += `${c.pem}\n`;
    }
    if (add === '') continue;
    const sep = text === '' || text.endsWith('\n') ? '' : '\n';
    inContext(`certificates: updating ${show(canonical)}`, undefined, () =>
      writeGeneratedFile(fs, canonical, Buffer.from(text + sep + add, 'latin1'), { mtime: time.mtime }),
    );
    result.bundles.push(canonical);
  }
  result.appended = appendedFingerprints.size;
  if (result.appended > 0 && fs.stat(JAVA_TRUSTSTORE) !== undefined) {
    result.warnings.push(
      `certificates: the Java truststore ${show(JAVA_TRUSTSTORE)} was not updated (lading does not write JKS); ` +
        'Java programs will not trust the added certificates',
    );
  }
  return result;
}

/** The CA stores apko writes a checksum sidecar for. */
export const CA_STORES = [...CA_BUNDLES, JAVA_TRUSTSTORE] as const;

/** Writes `.<name>.sha256` next to every CA store present (apko's sidecars). Returns the paths written. */
export function writeCaChecksumSidecars(fs: ImageFS, time: StepTime): string[] {
  const written: string[] = [];
  for (const store of CA_STORES) {
    if (fs.stat(store)?.type !== 'file') continue;
    const name = baseName(store);
    const digest = createHash('sha256').update(fs.readFile(store)).digest('hex');
    const sidecar = joinPath(parentOf(store), `.${name}.sha256`);
    written.push(
      inContext('certificates: checksum sidecar', undefined, () =>
        writeGeneratedFile(fs, sidecar, `${digest}  ${name}\n`, {
          mtime: time.mtime,
          mode: 0o444,
          uid: 0,
          gid: 0,
          forceAttrs: true,
        }),
      ),
    );
  }
  return written;
}
