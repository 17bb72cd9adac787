/**
 * The MD5 digests SQS returns with a message. The SDK checks MD5OfMessageBody
 * (SendMessage, SendMessageBatch, ReceiveMessage) and throws when it differs;
 * MD5OfMessageAttributes follows AWS's documented encoding so that clients
 * that check it (SDK v2, other languages) agree.
 */
import { createHash } from 'node:crypto';

export interface MessageAttributeValue {
  readonly DataType: string;
  readonly StringValue?: string;
  /** Base64, as on the JSON wire. */
  readonly BinaryValue?: string;
}

export function md5OfBody(body: string): string {
  return createHash('md5').update(body, 'utf8').digest('hex');
}

/**
 * AWS's digest of message attributes: for each attribute, sorted by name,
 * the name, the data type and the value, each preceded by its length as a
 * 4-byte big-endian integer, the value also by a transport byte (1 = string,
 * 2 = binary). Undefined when there are no attributes (SQS then omits it).
 */
export function md5OfMessageAttributes(
  attributes: Readonly<Record<string, MessageAttributeValue>>,
): string | undefined {
  const names = Object.keys(attributes).sort();
  if (names.length === 0) return undefined;
  const hash = createHash('md5');
  const field = (bytes: Buffer) => {
    const length = Buffer.alloc(4);
    length.writeUInt32BE(bytes.length);
    hash.update(length);
    hash.update(bytes);
  };
  for (const name of names) {
    const value = attributes[name];
    if (!value) continue;
    field(Buffer.from(name, 'utf8'));
    field(Buffer.from(value.DataType, 'utf8'));
    if (value.BinaryValue !== undefined) {
      hash.update(Buffer.of(2));
      field(Buffer.from(value.BinaryValue, 'base64'));
    } else {
      hash.update(Buffer.of(1));
      field(Buffer.from(value.StringValue ?? '', 'utf8'));
    }
  }
  return hash.digest('hex');
}
