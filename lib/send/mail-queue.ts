import { type ObservableInput, type Subscription, from } from 'rxjs';
import type { Mail } from '../mail/mail';

/**
 * The mails of a `sendAll`, taken from the caller's input as they come. The transfer takes them
 * one by one, and can see without waiting whether the next one is already here (to pipeline it
 * behind the previous end of data).
 */
export class MailQueue {
  private readonly buffered: Mail[] = [];
  private done = false;
  private failure: { error: unknown } | undefined;
  private wake: (() => void) | undefined;
  private readonly subscription: Subscription;

  constructor(input: ObservableInput<Mail>) {
    this.subscription = from(input).subscribe({
      next: (mail) => {
        this.buffered.push(mail);
        this.notify();
      },
      error: (error: unknown) => {
        this.failure = { error };
        this.notify();
      },
      complete: () => {
        this.done = true;
        this.notify();
      },
    });
  }

  /** The next mail if it is already here, without waiting. */
  poll(): Mail | undefined {
    return this.buffered.shift();
  }

  /** The next mail, waiting for it; undefined when the input has completed. Rejects with the input's error. */
  async take(): Promise<Mail | undefined> {
    for (;;) {
      const mail = this.buffered.shift();
      if (mail !== undefined) return mail;
      if (this.failure !== undefined) throw this.failure.error;
      if (this.done || this.subscription.closed) return undefined;
      await new Promise<void>((resolve) => (this.wake = resolve));
    }
  }

  /** Stops taking from the input and returns what was taken but not yet handed out. */
  close(): Mail[] {
    this.subscription.unsubscribe();
    this.done = true;
    this.notify();
    return this.buffered.splice(0);
  }

  private notify(): void {
    this.wake?.();
    this.wake = undefined;
  }
}
