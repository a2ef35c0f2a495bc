/**
 * What needs files on containerd's own host cannot work through an ssh:// address: ctr would make or read them
 * on this host, where neither containerd nor the shim looks (stdio FIFOs, log files, the checkpoint store, CNI
 * and its records, a bundle's config.json, a container's /etc/passwd). Those are refused in one line saying
 * why, before anything is made (docs/remote.md lists them).
 */
import type {ContainerdClient} from '../containerd/client'
import {type OptionNamer, optionError} from '../containerd/errors'

/**
 * Throws when `client` reaches containerd over ssh: `what` needs `why` on the daemon's host. `instead` names
 * another way, in the caller's option names (optionError).
 */
export function refuseOverSsh(client: Pick<ContainerdClient, 'remote' | 'address'>, what: string, why: string, instead?: (o: OptionNamer) => string): void {
  if (!client.remote) return
  throw optionError(
    'unimplemented',
    (o) =>
      `${what}: not available over ssh (${client.address}): ${why} on containerd's host; ${instead ? `${instead(o)}, or ` : ''}run ctr there (ssh HOST ctr ...)`,
  )
}

/** A user other than `UID:GID` in numbers is looked up in the container's /etc/passwd and /etc/group. */
export function needsUserFiles(user: string | undefined, group?: string): boolean {
  if (!user) return false
  const [u, g] = group === undefined ? user.split(':') : [user, group]
  return !/^\d+$/.test(u) || g === undefined || !/^\d+$/.test(g)
}

/** The refusal for a user that needs the container's files (see needsUserFiles). */
export function refuseUserOverSsh(client: Pick<ContainerdClient, 'remote' | 'address'>, user: string | undefined, group?: string): void {
  if (needsUserFiles(user, group))
    refuseOverSsh(
      client,
      `user "${group === undefined ? user : `${user}:${group}`}"`,
      "a name (or a UID's group) is looked up in the container's files (give UID:GID)",
    )
}
