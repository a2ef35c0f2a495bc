/**
 * Waiting on a condition instead of a fixed sleep.
 *
 * Subscribe confirms nothing (containerd sends no response headers until the first event, docs/containerd.md),
 * so "the watcher is subscribed" is shown the only way it can be: probe events are published until the
 * watcher has seen one. The probe is a /containers/update event (containerd.events.ContainerUpdate) for the
 * ID given, in the namespace given: it passes namespace and --id filters (`event.id==ID`), changes nothing,
 * and the daemon decodes it for filtering because its type is one of its own (under the bare type URL the
 * daemon itself uses: it cannot match `event.*` fields of a type it cannot resolve).
 */
import {ContainerdClient} from '../../src/lib/containerd/client'
import {ContainerUpdate} from '../../src/gen/containerd/events/container'
import {EventsDefinition} from '../../src/gen/containerd/services/events/v1/events'

export async function waitUntil(
  condition: () => boolean | Promise<boolean>,
  options: {timeoutMs?: number; intervalMs?: number; what?: string} = {},
): Promise<void> {
  const {timeoutMs = 10_000, intervalMs = 25, what = 'the condition'} = options
  const deadline = Date.now() + timeoutMs
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`)
    await new Promise((resolve) => setTimeout(resolve, intervalMs))
  }
}

export const PROBE_TOPIC = '/containers/update'

/**
 * Publishes a probe event (for `id`, in `namespace`) every 100 ms until `seen()` says the subscriber got one.
 */
export async function untilSubscribed(address: string, namespace: string, id: string, seen: () => boolean, timeoutMs = 10_000): Promise<void> {
  const client = new ContainerdClient({address, namespace})
  try {
    const events = client.service(EventsDefinition)
    const event = {typeUrl: 'containerd.events.ContainerUpdate', value: Buffer.from(ContainerUpdate.encode(ContainerUpdate.fromPartial({id})).finish())}
    let last = 0
    await waitUntil(
      async () => {
        if (seen()) return true
        if (Date.now() - last >= 100) {
          last = Date.now()
          await events.publish({topic: PROBE_TOPIC, event})
        }
        return false
      },
      {timeoutMs, what: `a subscriber in ${namespace} to see a probe event`},
    )
  } finally {
    client.close()
  }
}
