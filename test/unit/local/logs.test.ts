/**
 * TerminalLogs: what the terminal shows for each source, and the per-source
 * files of `--logs DIR`.
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { TerminalLogs } from '../../../local/logs';

const ESCAPE = '\u001b[';

const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

function logsDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'eventjobs-logs-'));
  dirs.push(dir);
  return join(dir, 'logs');
}

function terminal() {
  const written: string[] = [];
  return { written, write: (text: string) => written.push(text) };
}

describe('TerminalLogs on the terminal', () => {
  it('prefixes each line with a short name of its source', () => {
    // prepare
    const out = terminal();
    const logs = new TerminalLogs({ write: out.write });

    // act
    logs.line('EventJobs-AsyncJobsWorkerCD585522', 'started job 1');
    logs.line('eventbridge', 'rule matched');

    // assess
    expect(out.written).toEqual([
      '[AsyncJobsWorker] started job 1\n',
      '[eventbridge] rule matched\n',
    ]);
  });

  it('keeps a name that would be empty without its stack or hash', () => {
    // prepare
    const out = terminal();
    const logs = new TerminalLogs({ write: out.write });

    // act
    logs.line('ABCDEF12', 'only a hash');

    // assess
    expect(out.written).toEqual(['[ABCDEF12] only a hash\n']);
  });

  it('colours prefixes only when colour is on, one colour per source', () => {
    // prepare
    const plain = terminal();
    const coloured = terminal();
    const plainLogs = new TerminalLogs({ write: plain.write });
    const colouredLogs = new TerminalLogs({ write: coloured.write, color: true });

    // act
    for (const logs of [plainLogs, colouredLogs]) {
      logs.line('Demo-Worker', 'one');
      logs.line('Demo-Api', 'two');
      logs.line('Demo-Worker', 'three');
    }

    // assess
    expect(plain.written.join('')).not.toContain(ESCAPE);
    const [first, second, third] = coloured.written;
    const colourOf = (line = '') =>
      line.startsWith(ESCAPE) ? /^(\d+)m/.exec(line.slice(ESCAPE.length))?.[1] : undefined;
    expect(first).toBe(`${ESCAPE}${colourOf(first)}m[Worker]${ESCAPE}0m one\n`);
    expect(colourOf(first)).toBeDefined();
    expect(colourOf(second)).not.toBe(colourOf(first));
    expect(colourOf(third)).toBe(colourOf(first));
  });
});

describe('TerminalLogs with --logs', () => {
  it('writes each source to its own file, without prefix or colour', () => {
    // prepare
    const dir = logsDir();
    const out = terminal();
    const logs = new TerminalLogs({ dir, write: out.write, color: true });

    // act
    logs.line('EventJobs-AsyncJobsWorkerCD585522', 'first');
    logs.line('EventJobs-AsyncJobsWorkerCD585522', 'second');
    logs.line('dynamodb', 'table created');

    // assess
    expect(readdirSync(dir).sort()).toEqual([
      'EventJobs-AsyncJobsWorkerCD585522.log',
      'dynamodb.log',
    ]);
    expect(readFileSync(join(dir, 'EventJobs-AsyncJobsWorkerCD585522.log'), 'utf8')).toBe(
      'first\nsecond\n',
    );
    expect(readFileSync(join(dir, 'dynamodb.log'), 'utf8')).toBe('table created\n');
    expect(out.written).toHaveLength(3);
  });

  it('keeps a source name from leaving the directory', () => {
    // prepare
    const dir = logsDir();
    const logs = new TerminalLogs({ dir, quiet: true });

    // act
    logs.line('../api gateway/stage', 'request');

    // assess
    expect(readdirSync(dir)).toEqual(['.._api_gateway_stage.log']);
  });

  it('in quiet mode writes the files and nothing to the terminal', () => {
    // prepare
    const dir = logsDir();
    const out = terminal();
    const logs = new TerminalLogs({ dir, quiet: true, write: out.write });

    // act
    logs.line('Demo-Worker', 'quietly');

    // assess
    expect(out.written).toEqual([]);
    expect(readFileSync(join(dir, 'Demo-Worker.log'), 'utf8')).toBe('quietly\n');
  });
});
