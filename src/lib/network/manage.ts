/** Networks as the `networks` commands manage them: paths from the environment, users from the attachment records. */
import {networkUsers} from './attach'
import * as networks from './networks'

export async function listNetworks(paths = networks.networkPaths()): Promise<networks.NetworkInfo[]> {
  return (await networks.loadNetworks(paths)).map((network) => network.info)
}

export function createNetwork(name: string, options: networks.CreateNetworkOptions, paths = networks.networkPaths()): Promise<networks.NetworkInfo> {
  return networks.createNetwork(paths, name, options)
}

export function removeNetwork(name: string, paths = networks.networkPaths()): Promise<networks.NetworkInfo> {
  return networks.removeNetwork(paths, name, (network) => networkUsers(network, paths))
}
