/**
 * Turns an execution's events into the lines `npm start` prints: one per state that did work, with
 * its duration. A poll loop (Wait → Get…State → Choice, many times) is one line with its poll count.
 */
import type { EventLog } from './local-stack';

export interface StateTiming {
  readonly name: string;
  readonly ms: number;
  /** Polls, for a poll loop. */
  readonly polls?: number;
  readonly failed?: boolean;
}

interface PollLoop {
  readonly waitState: string;
  readonly startedAt: number;
  task?: string;
  polls: number;
  lastAt: number;
}

export class ExecutionProgress {
  readonly timings: StateTiming[] = [];
  private readonly enteredAt = new Map<string, number>();
  /** A caught failure is followed by a StateExited of the same state, already printed as failed. */
  private readonly failedAttempt = new Set<string>();
  private poll: PollLoop | undefined;

  constructor(private readonly print: (line: string) => void) {}

  onEvent(event: EventLog): void {
    switch (event.type) {
      case 'StateEntered': {
        const { name, type } = event.state;
        this.enteredAt.set(name, event.timestamp);
        if (type === 'Wait') this.poll ??= { waitState: name, startedAt: event.timestamp, polls: 0, lastAt: event.timestamp };
        else if ((type === 'Task' || type === 'Succeed' || type === 'Fail') && this.poll && name !== this.poll.task && this.poll.task) this.endPoll(false);
        if (type === 'Succeed' || type === 'Fail') this.print(`  ${type === 'Succeed' ? '●' : '✖'} ${name}`);
        return;
      }
      case 'StateExited': {
        const { name, type } = event.state;
        if (type !== 'Task' || this.failedAttempt.delete(name)) return;
        if (this.poll && (this.poll.task === undefined || this.poll.task === name)) {
          this.poll.task = name;
          this.poll.polls += 1;
          this.poll.lastAt = event.timestamp;
          return;
        }
        this.record(name, this.since(name, event.timestamp), false);
        return;
      }
      case 'StateFailed': {
        const { name, type } = event.state;
        if (type !== 'Task') return;
        this.failedAttempt.add(name);
        if (this.poll && (this.poll.task === undefined || this.poll.task === name)) {
          this.poll.task = name;
          this.poll.polls += 1;
          this.poll.lastAt = event.timestamp;
          this.endPoll(true, event.Error);
          return;
        }
        this.record(name, this.since(name, event.timestamp), true, event.Error);
        return;
      }
      case 'StateRetried':
        this.failedAttempt.delete(event.state.name);
        this.print(`    ↻ retrying ${event.state.name} (attempt ${event.retry.attempt + 1})`);
        return;
      default:
        return;
    }
  }

  private since(name: string, timestamp: number): number {
    return timestamp - (this.enteredAt.get(name) ?? timestamp);
  }

  private endPoll(failed: boolean, error?: string): void {
    const poll = this.poll!;
    this.poll = undefined;
    const label = `${poll.waitState} → ${poll.task ?? '?'}`;
    this.timings.push({ name: poll.task ?? poll.waitState, ms: poll.lastAt - poll.startedAt, polls: poll.polls, failed });
    this.print(`  ${failed ? '✖' : '✔'} ${`${label} ×${poll.polls}`.padEnd(44)} ${formatDuration(poll.lastAt - poll.startedAt)}${error ? `  ${error}` : ''}`);
  }

  private record(name: string, ms: number, failed: boolean, error?: string): void {
    this.timings.push({ name, ms, failed });
    this.print(`  ${failed ? '✖' : '✔'} ${name.padEnd(44)} ${formatDuration(ms)}${error ? `  ${error}` : ''}`);
  }
}

export function formatDuration(ms: number): string {
  if (ms < 60_000) return `${(ms / 1000).toFixed(ms < 10_000 ? 2 : 1)} s`;
  const minutes = Math.floor(ms / 60_000);
  return `${minutes} min ${Math.round((ms - minutes * 60_000) / 1000)} s`;
}
