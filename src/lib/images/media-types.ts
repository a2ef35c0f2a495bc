/**
 * OCI and Docker media types, and the garbage-collection labels containerd reads from them
 * (containerd 1.6 images/mediatypes.go: IsLayerType, IsKnownConfig, ChildGCLabels).
 */
export const MEDIA_TYPE = {
  ociIndex: 'application/vnd.oci.image.index.v1+json',
  ociManifest: 'application/vnd.oci.image.manifest.v1+json',
  ociConfig: 'application/vnd.oci.image.config.v1+json',
  ociLayer: 'application/vnd.oci.image.layer.v1.tar',
  ociLayerGzip: 'application/vnd.oci.image.layer.v1.tar+gzip',
  ociLayerZstd: 'application/vnd.oci.image.layer.v1.tar+zstd',
  dockerManifestList: 'application/vnd.docker.distribution.manifest.list.v2+json',
  dockerManifest: 'application/vnd.docker.distribution.manifest.v2+json',
  dockerConfig: 'application/vnd.docker.container.image.v1+json',
  dockerLayer: 'application/vnd.docker.image.rootfs.diff.tar',
  dockerLayerGzip: 'application/vnd.docker.image.rootfs.diff.tar.gzip',
  dockerForeignLayerGzip: 'application/vnd.docker.image.rootfs.foreign.diff.tar.gzip',
} as const

export const isIndexType = (mediaType: string): boolean => mediaType === MEDIA_TYPE.ociIndex || mediaType === MEDIA_TYPE.dockerManifestList

export const isManifestType = (mediaType: string): boolean => mediaType === MEDIA_TYPE.ociManifest || mediaType === MEDIA_TYPE.dockerManifest

export const isConfigType = (mediaType: string): boolean => mediaType === MEDIA_TYPE.ociConfig || mediaType === MEDIA_TYPE.dockerConfig

/** Layers: OCI (any compression, non-distributable too) and Docker rootfs diffs. */
export function isLayerType(mediaType: string): boolean {
  if (mediaType.startsWith('application/vnd.oci.image.layer.')) return true
  if (mediaType.startsWith('application/vnd.docker.image.rootfs.')) return true
  return false
}

/** The label key a parent carries for one child (before numbering), as containerd's ChildGCLabels. */
export function childGcLabel(mediaType: string): string {
  if (isConfigType(mediaType)) return 'containerd.io/gc.ref.content.config'
  if (isManifestType(mediaType)) return 'containerd.io/gc.ref.content.m.'
  if (isLayerType(mediaType)) return 'containerd.io/gc.ref.content.l.'
  return 'containerd.io/gc.ref.content.'
}

/**
 * The labels a parent blob carries so the garbage collector keeps its children: keys ending in '.' are
 * numbered from 0; a repeated key gets a number from its second use on (SetChildrenMappedLabels).
 */
export function childrenGcLabels(children: ReadonlyArray<{mediaType: string; digest: string}>): Record<string, string> {
  const labels: Record<string, string> = {}
  const seen = new Map<string, number>()
  for (const child of children) {
    let key = childGcLabel(child.mediaType)
    const n = seen.get(key) ?? 0
    seen.set(key, n + 1)
    if (n > 0 || key.endsWith('.')) key = `${key}${n}`
    labels[key] = child.digest
  }
  return labels
}

/** The label on a layer blob naming its uncompressed digest (the diff ID), set after it is unpacked. */
export const UNCOMPRESSED_LABEL = 'containerd.io/uncompressed'
/** The label on an image config naming the committed snapshot of its chain, per snapshotter. */
export const snapshotGcLabel = (snapshotter: string): string => `containerd.io/gc.ref.snapshot.${snapshotter}`
/** Annotations naming images in an OCI index. */
export const ANNOTATION = {
  imageName: 'io.containerd.image.name',
  refName: 'org.opencontainers.image.ref.name',
} as const
