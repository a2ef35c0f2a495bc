import {VersionDefinition} from '../gen/containerd/services/version/v1/version'
import type {ContainerdClient} from './containerd/client'

export interface VersionInfo {
  client: {version: string; node: string}
  server: {version: string; revision: string}
}

// eslint-disable-next-line @typescript-eslint/no-require-imports -- esbuild inlines the version from package.json at build time
export const CLIENT_VERSION: string = require('../../package.json').version

export async function getVersion(client: ContainerdClient): Promise<VersionInfo> {
  const server = await client.service(VersionDefinition).version({})
  return {
    client: {version: CLIENT_VERSION, node: process.version},
    server: {version: server.version, revision: server.revision},
  }
}
