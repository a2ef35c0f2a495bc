/**
 * Go ctr's spellings of ctr's commands, as oclif hidden aliases: they run the command but are not listed in
 * help or suggested. Go ctr names a topic three ways (`containers`, `container`, `c`).
 */
const TOPICS = {
  containers: ['containers', 'container', 'c'],
  images: ['images', 'image', 'i'],
  namespaces: ['namespaces', 'namespace', 'ns'],
  tasks: ['tasks', 'task', 't'],
} as const

/**
 * Every `TOPIC:VERB` of Go ctr for the given verbs (`''`: the topic alone), except `own` (the command's
 * own ID and visible aliases, which oclif already has).
 */
export function goNames(topic: keyof typeof TOPICS, verbs: readonly string[], own: readonly string[] = []): string[] {
  const names = TOPICS[topic].flatMap((t) => verbs.map((verb) => (verb ? `${t}:${verb}` : t)))
  return names.filter((name) => !own.includes(name))
}
