import { describe, expect, it } from 'vitest';
import { type SseMessage, SseParser } from '../../../client/sse';

/** Feeds `text` to a fresh parser in pieces of `size` characters. */
function parseInPieces(text: string, size: number): SseMessage[] {
  const parser = new SseParser();
  const messages: SseMessage[] = [];
  for (let i = 0; i < text.length; i += size)
    messages.push(...parser.push(text.slice(i, i + size)));
  messages.push(...parser.end());
  return messages;
}

const STREAM =
  ': keep-alive\n' +
  'id: 1\nevent: Job Started\ndata: {"a":1}\n\n' +
  ':another comment\n\n' +
  'id: 2\r\nevent: Job Progress\r\ndata: {"b":\r\ndata: 2}\r\n\r\n' +
  'id: 3\revent: Job Completed\rdata:{"c":3}\r\r';

const EXPECTED: SseMessage[] = [
  { id: '1', event: 'Job Started', data: '{"a":1}' },
  { id: '2', event: 'Job Progress', data: '{"b":\n2}' },
  { id: '3', event: 'Job Completed', data: '{"c":3}' },
];

describe('SseParser', () => {
  it('parses a whole stream: comments, multi-line data, LF, CRLF and CR line ends', () => {
    expect(parseInPieces(STREAM, STREAM.length)).toEqual(EXPECTED);
  });

  it.each([1, 2, 3, 5, 7, 13])(
    'gives the same messages when the stream arrives in %i-character chunks',
    (size) => {
      expect(parseInPieces(STREAM, size)).toEqual(EXPECTED);
    },
  );

  it('treats a CRLF split across two chunks as one line end', () => {
    // Prepare
    const parser = new SseParser();

    // Act
    const first = parser.push('data: x\r');
    const second = parser.push('\n\r');
    const third = parser.push('\n');

    // Assess
    expect(first).toEqual([]);
    expect(second).toEqual([{ event: 'message', data: 'x' }]);
    expect(third).toEqual([]);
  });

  it('drops a message the stream ended before its blank line, and blocks with no data', () => {
    expect(parseInPieces('event: Job Started\n\nid: 9\ndata: {"partial":true}\n', 4)).toEqual([]);
  });

  it('takes the id of a block without data for the messages that follow', () => {
    expect(parseInPieces('id: 5\n\ndata: x\n\n', 3)).toEqual([
      { id: '5', event: 'message', data: 'x' },
    ]);
  });

  it('ignores retry and unknown fields', () => {
    expect(parseInPieces('retry: 1000\nfoo: bar\nretry: soon\ndata: y\n\n', 4)).toEqual([
      { event: 'message', data: 'y' },
    ]);
  });

  it('skips a byte order mark and keeps the last id for later messages', () => {
    const parser = new SseParser();
    expect(parser.push('\ufeffid: 7\ndata: a\n\ndata: b\n\n')).toEqual([
      { id: '7', event: 'message', data: 'a' },
      { id: '7', event: 'message', data: 'b' },
    ]);
  });
});
