/** What `npm start` prints per state: one line per state that did work, poll loops folded into one. */
import { ExecutionProgress, formatDuration } from '../../local/pipeline/progress';
import type { EventLog } from '../../local/pipeline/local-stack';

function lines(events: [string, string, string, number, Record<string, unknown>?][]): string[] {
  const printed: string[] = [];
  const progress = new ExecutionProgress((line) => printed.push(line));
  for (const [type, name, stateType, timestamp, extra] of events) {
    progress.onEvent({ type, timestamp, state: { name, type: stateType, input: {} }, ...extra } as unknown as EventLog);
  }
  return printed;
}

describe('ExecutionProgress', () => {
  it('prints a Task with its duration, and skips Pass and Choice states', () => {
    const printed = lines([
      ['StateEntered', 'ReadInput', 'Pass', 0],
      ['StateExited', 'ReadInput', 'Pass', 0],
      ['StateEntered', 'ResolveRun', 'Task', 0],
      ['StateExited', 'ResolveRun', 'Task', 1500],
      ['StateEntered', 'RunOrSkip', 'Choice', 1500],
    ]);
    expect(printed).toEqual([expect.stringMatching(/^ {2}✔ ResolveRun +1\.50 s$/)]);
  });

  it('folds a poll loop into one line with its poll count and total time', () => {
    const loop: [string, string, string, number][] = [];
    for (let poll = 0; poll < 3; poll++) {
      const t = poll * 1000;
      loop.push(['StateEntered', 'WaitForCrawler', 'Wait', t], ['StateEntered', 'GetCrawlerState', 'Task', t + 500], ['StateExited', 'GetCrawlerState', 'Task', t + 600]);
    }
    const printed = lines([...loop, ['StateEntered', 'StartExtractJob', 'Task', 3000]]);
    expect(printed).toEqual([expect.stringMatching(/✔ WaitForCrawler → GetCrawlerState ×3 +2\.60 s$/)]);
  });

  it('prints a caught failure once, as failed with its error, and the retries in between', () => {
    const printed = lines([
      ['StateEntered', 'PublishExtracts', 'Task', 0],
      ['StateFailed', 'PublishExtracts', 'Task', 100, { Error: 'Lambda.ServiceException' }],
      ['StateRetried', 'PublishExtracts', 'Task', 200, { retry: { attempt: 1 } }],
      ['StateFailed', 'PublishExtracts', 'Task', 300, { Error: 'AccessDenied' }],
      ['StateExited', 'PublishExtracts', 'Task', 300],
      ['StateEntered', 'Failed', 'Fail', 400],
    ]);
    expect(printed).toEqual([
      expect.stringMatching(/✖ PublishExtracts .* Lambda\.ServiceException$/),
      '    ↻ retrying PublishExtracts (attempt 2)',
      expect.stringMatching(/✖ PublishExtracts .* AccessDenied$/),
      '  ✖ Failed',
    ]);
  });

  it('marks a poll loop failed when it leaves through a ceiling, and when its poll fails after retries', () => {
    expect(
      lines([
        ['StateEntered', 'WaitForCrawler', 'Wait', 0],
        ['StateEntered', 'GetCrawlerState', 'Task', 10],
        ['StateExited', 'GetCrawlerState', 'Task', 20],
        ['StateEntered', 'CrawlerWaitExceeded', 'Pass', 30],
        ['StateEntered', 'NotifyFailure', 'Task', 40],
      ]),
    ).toEqual([expect.stringMatching(/✖ WaitForCrawler → GetCrawlerState ×1 .* CrawlerWaitExceeded$/)]);
    expect(
      lines([
        ['StateEntered', 'WaitForExtractJob', 'Wait', 0],
        ['StateEntered', 'GetExtractJobState', 'Task', 10],
        ['StateFailed', 'GetExtractJobState', 'Task', 20, { Error: 'ThrottlingException' }],
        ['StateRetried', 'GetExtractJobState', 'Task', 30, { retry: { attempt: 1 } }],
        ['StateFailed', 'GetExtractJobState', 'Task', 40, { Error: 'ExtractJobFailed' }],
        ['StateExited', 'GetExtractJobState', 'Task', 40],
        ['StateEntered', 'NotifyFailure', 'Task', 50],
      ]),
    ).toEqual(['    ↻ retrying GetExtractJobState (attempt 2)', expect.stringMatching(/✖ WaitForExtractJob → GetExtractJobState ×1 .* ExtractJobFailed$/)]);
  });

  it('names what a stopped execution was running: the Task in progress, or a wait before its first poll', () => {
    expect(
      lines([
        ['StateEntered', 'PublishExtracts', 'Task', 0],
        ['ExecutionAborted', '', '', 700],
      ]),
    ).toEqual([expect.stringMatching(/^ {2}✖ PublishExtracts +0\.70 s {2}ExecutionAborted$/)]);
    expect(
      lines([
        ['StateEntered', 'StartExtractJob', 'Task', 0],
        ['StateExited', 'StartExtractJob', 'Task', 10],
        ['StateEntered', 'WaitForExtractJob', 'Wait', 20],
        ['ExecutionAborted', '', '', 100],
      ]),
    ).toEqual([expect.stringMatching(/✔ StartExtractJob /), expect.stringMatching(/^ {2}✖ WaitForExtractJob +0\.08 s {2}ExecutionAborted$/)]);
  });

  it('formats durations for people', () => {
    expect([42, 9_996, 12_345, 59_960, 119_600, 125_000].map(formatDuration)).toEqual(['0.04 s', '10.0 s', '12.3 s', '1 min 0 s', '2 min 0 s', '2 min 5 s']);
  });
});
