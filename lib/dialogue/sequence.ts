import { Observable, type Observer, type Subscriber, type Subscription } from 'rxjs';

/**
 * RxJS's `concat` for the few Observables of a dialogue: each source subscribed when the one before
 * it completes, their values passed on, the first error ending the whole. The same contract as
 * `concat(a, b, c)`, built the way RxJS builds its own operators (one subscriber class, no
 * closure per source), without what `concat` gets from `mergeAll(1)`: a buffer of sources, an
 * outer subscription to an array, and a subscriber and closures per source. A session's connect and
 * QUIT run half a dozen of these; with `concat` they were a fifth of what a session allocates
 * (bench/README.md, "The rebuilt core: what it cost").
 *
 * @example
 * ```ts
 * sequence(greeting(conn), ehlo(ctx), login(ctx, credentials)).subscribe((t) => console.log(t.status));
 * ```
 */
export function sequence<T>(...sources: Observable<T>[]): Observable<T> {
  return new Observable<T>((subscriber) => {
    const turn = new InTurn(subscriber, sources);
    turn.subscribeNext();
    return () => turn.stop();
  });
}

/**
 * `value`, then what `then$` emits: `concat(of(value), then$)` (or `then$.pipe(startWith(value))`)
 * with one subscription instead of a concat's. A dialogue phase announces its state this way
 * before its command's reply comes.
 *
 * @example
 * ```ts
 * announce<Transition>({ status: 'ehlo' }, conn.request({ line: 'EHLO client.example' }).pipe(ignoreElements()));
 * ```
 */
export function announce<T>(value: T, then$: Observable<T>): Observable<T> {
  return new Observable<T>((subscriber) => {
    subscriber.next(value);
    // then$ completes or errors the subscriber itself; an unsubscribe ends then$ with it.
    if (!subscriber.closed) then$.subscribe(subscriber);
  });
}

/** One subscription to a {@link sequence}: the source whose turn it is, and those after it. */
class InTurn<T> implements Observer<T> {
  private at = 0;
  private current: Subscription | undefined;
  /** Inside `subscribeNext`: a source that completes at once asks for the next without recursing. */
  private subscribing = false;
  private again = false;

  constructor(
    private readonly to: Subscriber<T>,
    private readonly sources: readonly Observable<T>[],
  ) {}

  next(value: T): void {
    this.to.next(value);
  }

  error(err: unknown): void {
    this.to.error(err);
  }

  complete(): void {
    this.subscribeNext();
  }

  /** Subscribes the next source, or completes after the last. */
  subscribeNext(): void {
    if (this.subscribing) {
      this.again = true;
      return;
    }
    this.subscribing = true;
    do {
      this.again = false;
      if (this.to.closed) break;
      const source = this.sources[this.at++];
      if (source === undefined) {
        this.to.complete();
        break;
      }
      this.current = source.subscribe(this);
    } while (this.again);
    this.subscribing = false;
  }

  stop(): void {
    this.current?.unsubscribe();
  }
}
