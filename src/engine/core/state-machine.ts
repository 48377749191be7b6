import { DomainError } from './errors.js';

/** A transition table: for each state, the states it may move to. */
export class StateMachine<S extends string> {
  constructor(
    readonly entity: string,
    private readonly table: Readonly<Record<S, readonly S[]>>,
  ) {}

  get states(): S[] {
    return Object.keys(this.table) as S[];
  }

  allows(from: S, to: S): boolean {
    return this.table[from].includes(to);
  }

  /** Throws INVALID_TRANSITION naming the current and attempted states. */
  assert(from: S, to: S, id: string): void {
    if (!this.allows(from, to)) this.refuse(from, to, id);
  }

  /** The INVALID_TRANSITION error, for a move the table allows but the operation does not (e.g. resume from busy). */
  refuse(from: S, to: S, id: string): never {
    this.forbid(from, id, ` and cannot move to ${to.toUpperCase()}`, { attemptedState: to.toUpperCase() });
  }

  /**
   * INVALID_TRANSITION for an operation that `state` does not allow, where no
   * single move is refused (a heartbeat from a stopped worker, a step of a
   * run that is not running): "<Entity> <id> is <STATE>" followed by `rest`.
   */
  forbid(state: S, id: string, rest: string, details: Record<string, unknown> = {}): never {
    throw new DomainError('INVALID_TRANSITION', `${this.entity} ${id} is ${state.toUpperCase()}${rest}`, {
      entity: this.entity,
      id,
      currentState: state.toUpperCase(),
      ...details,
    });
  }
}
