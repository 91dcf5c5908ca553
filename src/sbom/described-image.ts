/**
 * Which image an SBOM file lading wrote describes (its repository, without tag or digest), read back from the
 * document: SPDX names itself `sbom-<reference>-<arch|index>`, CycloneDX names the image in
 * metadata.component.name. Undefined when the file is not such a document.
 */
export function describedImage(text: string, suffix: string): string | undefined {
  let doc: {
    spdxVersion?: string;
    name?: unknown;
    bomFormat?: string;
    metadata?: { component?: { name?: unknown } };
  };
  try {
    doc = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (doc.bomFormat === 'CycloneDX') {
    const name = doc.metadata?.component?.name;
    return typeof name === 'string' ? name : undefined;
  }
  if (typeof doc.spdxVersion === 'string' && typeof doc.name === 'string') {
    const m = /^sbom-(.+)$/.exec(doc.name);
    if (!m || !m[1]!.endsWith(`-${suffix}`)) return undefined;
    return imageRepository(m[1]!.slice(0, -suffix.length - 1));
  }
  return undefined;
}

/** `registry/ns/app:1.2@sha256:…` → `registry/ns/app` (a `:` before the last `/` is a registry port). */
export function imageRepository(reference: string): string {
  const at = reference.indexOf('@');
  const noDigest = at >= 0 ? reference.slice(0, at) : reference;
  const colon = noDigest.lastIndexOf(':');
  return colon > noDigest.lastIndexOf('/') ? noDigest.slice(0, colon) : noDigest;
}
