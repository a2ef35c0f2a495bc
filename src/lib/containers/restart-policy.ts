/**
 * Restart policies through containerd's own restart monitor (plugin io.containerd.internal.v1.restart), not a
 * supervisor of ctr's: the monitor reads container labels every interval (10 s by default) and starts a
 * task again for a container whose desired status is `running`. containerd 1.6 knows only that label
 * ("keep running"); 1.7 added `containerd.io/restart.policy` (always, unless-stopped, on-failure:N). The
 * log goes on through `containerd.io/restart.loguri`: ctr's log writer URI, so the file stays the same.
 */
import type {ContainerdClient} from '../containerd/client'
import {CtrError, optionError} from '../containerd/errors'
import {getVersion} from '../version'

export const RESTART_STATUS_LABEL = 'containerd.io/restart.status'
export const RESTART_POLICY_LABEL = 'containerd.io/restart.policy'
export const RESTART_LOGURI_LABEL = 'containerd.io/restart.loguri'

export type RestartPolicy = {name: 'no'} | {name: 'always'} | {name: 'unless-stopped'} | {name: 'on-failure'; max?: number}

/** `no`, `always`, `unless-stopped`, `on-failure[:N]`, as docker. */
export function parseRestartPolicy(text: string): RestartPolicy {
  const [name, count, ...rest] = text.split(':')
  if (rest.length === 0 && count === undefined && (name === 'no' || name === 'always' || name === 'unless-stopped')) return {name}
  if (name === 'on-failure' && rest.length === 0) {
    if (count === undefined) return {name}
    if (/^\d+$/.test(count) && Number(count) > 0) return {name, max: Number(count)}
  }
  throw optionError('usage', (o) => `invalid ${o('restart')} ${JSON.stringify(text)}: use no, always, unless-stopped or on-failure[:N]`)
}

/**
 * The container labels for the policy on the connected daemon; a policy it cannot carry out is refused
 * rather than pretended (1.6 has no on-failure: its monitor restarts every exit).
 */
export async function restartLabels(client: ContainerdClient, policy: RestartPolicy): Promise<Record<string, string>> {
  if (policy.name === 'no') return {}
  const {server} = await getVersion(client)
  const [major = 0, minor = 0] = (/^v?(\d+)\.(\d+)/.exec(server.version) ?? []).slice(1).map(Number)
  const hasPolicies = major > 1 || (major === 1 && minor >= 7)
  if (!hasPolicies) {
    if (policy.name === 'on-failure') {
      throw new CtrError(
        'failed-precondition',
        `restart policy on-failure needs containerd 1.7 or later (this daemon is ${server.version}: its restart monitor restarts on every exit)`,
      )
    }
    return {[RESTART_STATUS_LABEL]: 'running'}
  }
  const value = policy.name === 'on-failure' ? `on-failure${policy.max ? `:${policy.max}` : ''}` : policy.name
  return {[RESTART_STATUS_LABEL]: 'running', [RESTART_POLICY_LABEL]: value}
}
