/**
 * Turns an execution's events into the lines `npm start` prints: one per state that did work, with
 * its duration. A poll loop (Wait → Get…State → Choice, many times) is one line with its poll count,
 * marked failed when it ends in an error or leaves through a Pass state (a ceiling such as
 * CrawlerWaitExceeded) instead of moving on to the next Task.
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
  error?: string;
}

export class ExecutionProgress {
  readonly timings: StateTiming[] = [];
  private readonly enteredAt = new Map<string, number>();
  /** A caught failure is followed by a StateExited of the same state, already printed as failed. */
  private readonly failedAttempt = new Set<string>();
  private poll: PollLoop | undefined;
  private lastEntered: { name: string; type: string } | undefined;
  /** The Task entered and not yet left: what a stopped execution was running. */
  private openTask: string | undefined;

  constructor(private readonly print: (line: string) => void) {}

  onEvent(event: EventLog): void {
    switch (event.type) {
      case 'StateEntered': {
        const { name, type } = event.state;
        this.enteredAt.set(name, event.timestamp);
        if (type === 'Wait') this.poll ??= { waitState: name, startedAt: event.timestamp, polls: 0, lastAt: event.timestamp };
        else if (this.poll?.task && name !== this.poll.task && (type === 'Task' || type === 'Succeed' || type === 'Fail')) {
          const leftThroughPass = this.lastEntered?.type === 'Pass' ? this.lastEntered.name : undefined;
          this.endPoll(leftThroughPass);
        }
        if (type === 'Succeed' || type === 'Fail') this.print(`  ${type === 'Succeed' ? '●' : '✖'} ${name}`);
        this.lastEntered = { name, type };
        this.openTask = type === 'Task' ? name : undefined;
        return;
      }
      case 'StateExited': {
        const { name, type } = event.state;
        if (type !== 'Task') return;
        this.openTask = undefined;
        const caught = this.failedAttempt.delete(name);
        if (this.isPolling(name)) {
          this.countPoll(name, event.timestamp);
          if (caught) this.endPoll(this.poll!.error);
          return;
        }
        if (!caught) this.record(name, this.since(name, event.timestamp));
        return;
      }
      case 'StateFailed': {
        const { name, type } = event.state;
        if (type !== 'Task') return;
        this.failedAttempt.add(name);
        if (this.isPolling(name)) {
          this.poll!.error = event.Error;
          this.poll!.lastAt = event.timestamp;
          return;
        }
        this.record(name, this.since(name, event.timestamp), event.Error);
        return;
      }
      case 'StateRetried':
        this.failedAttempt.delete(event.state.name);
        this.print(`    ↻ retrying ${event.state.name} (attempt ${event.retry.attempt + 1})`);
        return;
      case 'ExecutionFailed':
      case 'ExecutionAborted':
      case 'ExecutionTimeout':
        if (this.poll) {
          this.poll.lastAt = Math.max(this.poll.lastAt, event.timestamp);
          this.endPoll(this.poll.error ?? event.type);
        } else if (this.openTask) this.record(this.openTask, this.since(this.openTask, event.timestamp), event.type);
        this.openTask = undefined;
        return;
      default:
        return;
    }
  }

  private isPolling(task: string): boolean {
    return this.poll !== undefined && (this.poll.task === undefined || this.poll.task === task);
  }

  private countPoll(task: string, timestamp: number): void {
    const poll = this.poll!;
    poll.task = task;
    poll.polls += 1;
    poll.lastAt = timestamp;
  }

  private since(name: string, timestamp: number): number {
    return timestamp - (this.enteredAt.get(name) ?? timestamp);
  }

  /** `error`: why the loop ended badly, if it did. */
  private endPoll(error: string | undefined): void {
    const poll = this.poll!;
    this.poll = undefined;
    const ms = poll.lastAt - poll.startedAt;
    this.timings.push({ name: poll.task ?? poll.waitState, ms, polls: poll.polls, failed: error !== undefined });
    // Stopped before its first poll (an abort during the wait): only the wait state to show.
    const label = poll.task === undefined ? poll.waitState : `${poll.waitState} → ${poll.task} ×${poll.polls}`;
    this.print(`  ${error ? '✖' : '✔'} ${label.padEnd(44)} ${formatDuration(ms)}${error ? `  ${error}` : ''}`);
  }

  private record(name: string, ms: number, error?: string): void {
    this.timings.push({ name, ms, failed: error !== undefined });
    this.print(`  ${error ? '✖' : '✔'} ${name.padEnd(44)} ${formatDuration(ms)}${error ? `  ${error}` : ''}`);
  }
}

export function formatDuration(ms: number): string {
  if (ms < 59_950) return `${(ms / 1000).toFixed(ms < 9_995 ? 2 : 1)} s`;
  const seconds = Math.round(ms / 1000);
  return `${Math.floor(seconds / 60)} min ${seconds % 60} s`;
}
