/**
 * Signals that arrive while Tasks.Start is under way are held until it has answered, then delivered in
 * order: acting on them at once would cut the Start off half-way (leaving a process nobody waits for) or
 * signal a process that does not run yet. One mechanism, used by ContainerProcess.start (process.ts) for
 * the signals ctr forwards to an attached process and for ctr's own interrupt (then handed on to the owner
 * below it, signal-owners.ts).
 */
export class HeldUntilStarted<S> {
  private held: S[] | undefined = []

  /** `keep: 'first'` holds only the first signal (later ones while held are dropped). */
  constructor(
    private readonly deliver: (signal: S) => unknown,
    private readonly keep: 'all' | 'first' = 'all',
  ) {}

  /** Delivers the signal, or holds it until release(). */
  push(signal: S): void {
    if (!this.held) void this.deliver(signal)
    else if (this.keep === 'all' || this.held.length === 0) this.held.push(signal)
  }

  /** Delivers what was held, in order (each awaited); from then on signals are delivered at once. */
  async release(): Promise<void> {
    const held = this.held ?? []
    this.held = undefined
    for (const signal of held) await this.deliver(signal)
  }
}
