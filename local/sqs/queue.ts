/** One in-memory queue: its messages, their visibility, and the callers waiting on it. */
import { randomBytes, randomUUID } from 'node:crypto';
import type { QueueMessage, QueueSpec } from '../contracts';
import { SqsErrors } from './errors';
import { type MessageAttributeValue, md5OfBody } from './md5';

export interface StoredMessage {
  readonly messageId: string;
  readonly body: string;
  readonly messageAttributes: Readonly<Record<string, MessageAttributeValue>>;
  /** `AWSTraceHeader`, the one message system attribute a sender may set. */
  readonly traceHeader?: string;
  readonly md5OfBody: string;
  /** ms since the epoch. */
  readonly sentAt: number;
  /** What retention counts from: the first enqueue, kept when a standard queue's message is redriven. */
  readonly enqueuedAt: number;
  readonly senderId: string;
  readonly groupId?: string;
  readonly deduplicationId?: string;
  readonly sequenceNumber?: string;
  /** Set on a message moved here by a redrive policy. */
  readonly deadLetterSourceArn?: string;
  /** Delayed or in flight until then. */
  visibleAt: number;
  /** Received at least once and not deleted (as opposed to delayed). */
  received: boolean;
  receiveCount: number;
  firstReceivedAt?: number;
  /** The handle of the latest receive; only it can delete the message or change its visibility. */
  receiptHandle?: string;
}

export type NewMessage = Pick<
  StoredMessage,
  | 'body'
  | 'messageAttributes'
  | 'traceHeader'
  | 'senderId'
  | 'groupId'
  | 'deduplicationId'
  | 'deadLetterSourceArn'
> & {
  readonly delaySeconds: number;
  /** Kept when redriving; new otherwise. */
  readonly messageId?: string;
  readonly sentAt?: number;
  readonly enqueuedAt?: number;
};

/** FIFO queues drop a message whose deduplication id was seen in the last 5 minutes. */
const DEDUPLICATION_MS = 5 * 60 * 1000;

export class LocalQueue {
  readonly createdAt: number;
  #messages: StoredMessage[] = [];
  readonly #waiters = new Set<() => void>();
  readonly #deduplication = new Map<
    string,
    { readonly messageId: string; readonly sequenceNumber?: string; readonly until: number }
  >();
  #sequence = 0n;

  constructor(
    readonly spec: QueueSpec,
    now: number,
  ) {
    this.createdAt = now;
  }

  /** Adds a message; a FIFO duplicate is not added and answers with the first message's id. */
  add(
    message: NewMessage,
    now: number,
  ): { readonly messageId: string; readonly sequenceNumber?: string } {
    this.#expire(now);
    if (this.spec.fifo && message.deduplicationId !== undefined) {
      const seen = this.#deduplication.get(message.deduplicationId);
      if (seen && seen.until > now) return seen;
    }
    this.#sequence += 1n;
    const sequenceNumber = this.spec.fifo ? this.#sequence.toString().padStart(20, '0') : undefined;
    const stored: StoredMessage = {
      messageId: message.messageId ?? randomUUID(),
      body: message.body,
      messageAttributes: message.messageAttributes,
      traceHeader: message.traceHeader,
      md5OfBody: md5OfBody(message.body),
      sentAt: message.sentAt ?? now,
      enqueuedAt: message.enqueuedAt ?? now,
      senderId: message.senderId,
      groupId: message.groupId,
      deduplicationId: message.deduplicationId,
      sequenceNumber,
      deadLetterSourceArn: message.deadLetterSourceArn,
      visibleAt: now + message.delaySeconds * 1000,
      received: false,
      receiveCount: 0,
    };
    this.#messages.push(stored);
    if (this.spec.fifo && message.deduplicationId !== undefined) {
      this.#deduplication.set(message.deduplicationId, {
        messageId: stored.messageId,
        sequenceNumber,
        until: now + DEDUPLICATION_MS,
      });
    }
    this.notify();
    return { messageId: stored.messageId, sequenceNumber };
  }

  /**
   * Receives up to `max` visible messages, oldest first, making each
   * invisible for `visibilityMs`. `redrive` is offered each message that has
   * already been received `maxReceiveCount` times: when it returns true the
   * message has moved to the dead-letter queue and leaves this one. In a
   * FIFO queue a message group with a message in flight is skipped, so its
   * messages are handed out in order, one batch at a time.
   */
  receive(
    max: number,
    visibilityMs: number,
    now: number,
    redrive: (message: StoredMessage) => boolean,
  ): StoredMessage[] {
    this.#expire(now);
    const blockedGroups = new Set<string>();
    if (this.spec.fifo) {
      for (const message of this.#messages) {
        if (message.groupId !== undefined && message.received && message.visibleAt > now) {
          blockedGroups.add(message.groupId);
        }
      }
    }
    const taken: StoredMessage[] = [];
    const moved = new Set<StoredMessage>();
    for (const message of this.#messages) {
      if (taken.length >= max) break;
      if (message.visibleAt > now) {
        // A delayed or in-flight message holds back the rest of its group.
        if (message.groupId !== undefined) blockedGroups.add(message.groupId);
        continue;
      }
      if (message.groupId !== undefined && blockedGroups.has(message.groupId)) continue;
      const limit = this.spec.redrive?.maxReceiveCount;
      if (limit !== undefined && message.receiveCount >= limit && redrive(message)) {
        moved.add(message);
        continue;
      }
      message.received = true;
      message.receiveCount += 1;
      message.firstReceivedAt ??= now;
      message.visibleAt = now + visibilityMs;
      message.receiptHandle = receiptHandle(this.spec.name, message.messageId);
      taken.push(message);
    }
    if (moved.size > 0) this.#messages = this.#messages.filter((message) => !moved.has(message));
    return taken;
  }

  /** Deletes the message of a receipt handle; a stale handle (an older receive) deletes nothing, as AWS allows. */
  delete(handle: ReceiptHandle): void {
    this.#messages = this.#messages.filter(
      (message) =>
        !(message.messageId === handle.messageId && message.receiptHandle === handle.raw),
    );
  }

  /** Changes how long a received message stays invisible, counting from now. */
  changeVisibility(handle: ReceiptHandle, seconds: number, now: number): void {
    this.#expire(now);
    const message = this.#messages.find(
      (candidate) =>
        candidate.messageId === handle.messageId && candidate.receiptHandle === handle.raw,
    );
    if (!message?.received || message.visibleAt <= now) {
      throw SqsErrors.messageNotInflight();
    }
    message.visibleAt = now + seconds * 1000;
    if (seconds === 0) this.notify();
  }

  purge(): void {
    this.#messages = [];
  }

  counts(now: number): {
    readonly visible: number;
    readonly inFlight: number;
    readonly delayed: number;
  } {
    this.#expire(now);
    let visible = 0;
    let inFlight = 0;
    let delayed = 0;
    for (const message of this.#messages) {
      if (message.visibleAt <= now) visible += 1;
      else if (message.received) inFlight += 1;
      else delayed += 1;
    }
    return { visible, inFlight, delayed };
  }

  /** Every message (visible, in flight or delayed), oldest first. */
  list(now: number): readonly StoredMessage[] {
    this.#expire(now);
    return [...this.#messages];
  }

  /** When the next invisible message becomes visible, if any does. */
  nextVisibleAt(now: number): number | undefined {
    let next: number | undefined;
    for (const message of this.#messages) {
      if (message.visibleAt > now && (next === undefined || message.visibleAt < next)) {
        next = message.visibleAt;
      }
    }
    return next;
  }

  /** Resolves after `ms`, or sooner when a message may have become available. */
  wait(ms: number): Promise<void> {
    return new Promise<void>((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.#waiters.delete(done);
        resolve();
      };
      const timer = setTimeout(done, Math.max(0, ms));
      this.#waiters.add(done);
    });
  }

  /** Wakes every waiting receive. */
  notify(): void {
    for (const wake of [...this.#waiters]) wake();
  }

  /** Drops messages older than the retention period. */
  #expire(now: number): void {
    const limit = now - this.spec.messageRetentionSeconds * 1000;
    if (this.#messages.some((message) => message.enqueuedAt <= limit)) {
      this.#messages = this.#messages.filter((message) => message.enqueuedAt > limit);
    }
    for (const [id, entry] of this.#deduplication) {
      if (entry.until <= now) this.#deduplication.delete(id);
    }
  }
}

/** A parsed receipt handle. */
export interface ReceiptHandle {
  readonly raw: string;
  readonly queueName: string;
  readonly messageId: string;
}

/** Opaque to callers: the queue, the message and a nonce, so that each receive has its own handle. */
function receiptHandle(queueName: string, messageId: string): string {
  return Buffer.from(
    JSON.stringify({ q: queueName, m: messageId, n: randomBytes(12).toString('base64url') }),
  ).toString('base64url');
}

export function parseReceiptHandle(raw: string): ReceiptHandle | undefined {
  try {
    const value: unknown = JSON.parse(Buffer.from(raw, 'base64url').toString('utf8'));
    if (value === null || typeof value !== 'object') return undefined;
    const { q, m } = value as { q?: unknown; m?: unknown };
    return typeof q === 'string' && typeof m === 'string'
      ? { raw, queueName: q, messageId: m }
      : undefined;
  } catch {
    return undefined;
  }
}

/** The system attributes of a message, by name, as ReceiveMessage returns them. */
export function systemAttributes(message: StoredMessage): Record<string, string> {
  const attributes: Record<string, string> = {
    SenderId: message.senderId,
    SentTimestamp: String(message.sentAt),
    ApproximateReceiveCount: String(message.receiveCount),
  };
  if (message.firstReceivedAt !== undefined) {
    attributes.ApproximateFirstReceiveTimestamp = String(message.firstReceivedAt);
  }
  if (message.traceHeader !== undefined) attributes.AWSTraceHeader = message.traceHeader;
  if (message.deadLetterSourceArn !== undefined) {
    attributes.DeadLetterQueueSourceArn = message.deadLetterSourceArn;
  }
  if (message.sequenceNumber !== undefined) attributes.SequenceNumber = message.sequenceNumber;
  if (message.groupId !== undefined) attributes.MessageGroupId = message.groupId;
  if (message.deduplicationId !== undefined) {
    attributes.MessageDeduplicationId = message.deduplicationId;
  }
  return attributes;
}

/** A message as the QueueSender contract shows it. */
export function toQueueMessage(message: StoredMessage): QueueMessage {
  const messageAttributes: Record<string, { DataType: string; StringValue?: string }> = {};
  for (const [name, value] of Object.entries(message.messageAttributes)) {
    messageAttributes[name] =
      value.StringValue !== undefined
        ? { DataType: value.DataType, StringValue: value.StringValue }
        : { DataType: value.DataType };
  }
  return {
    messageId: message.messageId,
    body: message.body,
    attributes: systemAttributes(message),
    messageAttributes,
    sentAt: message.sentAt,
  };
}
