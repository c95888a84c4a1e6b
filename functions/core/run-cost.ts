/**
 * The estimated cost of one run: the Glue job's DPU-seconds, the state machine's transitions and
 * the run's Lambda requests and PublishExtracts' GB-seconds, priced at the stage's list prices
 * (decimal strings, serverless.yml `params:`). Money is never floating point: every amount is an
 * exact fraction of BigInts, rounded once per component, half up, to whole micro-USD; the total is
 * the sum of the rounded components, so the manifest's breakdown adds up to its total.
 *
 * What is counted, and what is not (docs/operations.md, "Metrics, cost and the dashboard"):
 * - Glue: what GetJobRun reports (core/glue-dpu.ts), the job's largest cost by far.
 * - Step Functions: the transitions of a successful execution with the run's poll counts
 *   (`successfulRunTransitions`); retries of a state are billed too but not seen here.
 * - Lambda: one request per Task state on that path; duration only for PublishExtracts, measured up
 *   to the manifest (the other handlers each run well under a second at 256 MB: a few millionths
 *   of a dollar a run, not measured here, visible as the HandlerDuration metric).
 * Free tiers, S3, DynamoDB, KMS, CloudWatch and the crawler are not included.
 */
import { z } from 'zod';
import { getStringFromEnv } from './config';

/** A non-negative decimal in plain notation ("0.44", "0.0000133334"). */
const DECIMAL_TEXT = /^\d+(\.\d+)?$/;

export const decimalTextSchema = z.string().regex(DECIMAL_TEXT, 'must be a non-negative decimal such as 0.44');

/** The list prices a run is priced at, in USD, as decimal strings. */
export interface Prices {
  readonly gluePerDpuHour: string;
  readonly stepFunctionsPer1000Transitions: string;
  readonly lambdaPerGbSecond: string;
  readonly lambdaPer1MRequests: string;
}

/** The stage's prices, from the environment serverless.yml gives PublishExtracts; a missing or malformed one is an error naming it. */
export function pricesFromEnv(env: NodeJS.ProcessEnv = process.env): Prices {
  const price = (name: string) => {
    const text = getStringFromEnv(name, env);
    if (!DECIMAL_TEXT.test(text)) throw new Error(`${name} environment variable must be a decimal such as 0.44, got "${text}"`);
    return text;
  };
  return {
    gluePerDpuHour: price('PRICE_GLUE_DPU_HOUR'),
    stepFunctionsPer1000Transitions: price('PRICE_STEP_FUNCTIONS_1000_TRANSITIONS'),
    lambdaPerGbSecond: price('PRICE_LAMBDA_GB_SECOND'),
    lambdaPer1MRequests: price('PRICE_LAMBDA_1M_REQUESTS'),
  };
}

/** What the state machine hands PublishExtracts about the run so far (`usage` in its payload). */
export const runUsageSchema = z.strictObject({
  /** `$.crawler.polls.count` */
  crawlerPolls: z.int().nonnegative(),
  /** `$.job.polls.count` */
  extractJobPolls: z.int().nonnegative(),
  /** `$.job.progress.dpuSeconds`: null when Glue reported nothing to derive them from. */
  glueDpuSeconds: z.number().nonnegative().finite().nullable(),
});

export type RunUsage = z.infer<typeof runUsageSchema>;

/** PublishExtracts' own share, measured by its handler. */
export interface PublishUsage {
  readonly durationMs: number;
  readonly memoryMb: number;
}

const usd = decimalTextSchema;

/** The manifest's `estimatedCost`, and what CompleteRun reads back from PublishExtracts' result. */
export const estimatedCostSchema = z.object({
  currency: z.literal('USD'),
  /** Sum of the components' costs. */
  total: usd,
  glue: z.object({
    /** Null when Glue reported nothing to derive them from: then the job is not in the total. */
    dpuSeconds: decimalTextSchema.nullable(),
    pricePerDpuHour: usd,
    cost: usd.nullable(),
  }),
  stepFunctions: z.object({
    stateTransitions: z.int().nonnegative(),
    pricePer1000Transitions: usd,
    cost: usd,
  }),
  lambda: z.object({
    requests: z.int().nonnegative(),
    pricePer1MRequests: usd,
    publishDurationMs: z.int().nonnegative(),
    publishMemoryMb: z.int().positive(),
    pricePerGbSecond: usd,
    cost: usd,
  }),
});

export type EstimatedCost = z.infer<typeof estimatedCostSchema>;

/**
 * State transitions of a successful execution of statemachines/monthly-extract.asl.yaml:
 * ReadInput, ResolveRun, RunOrSkip, StartCrawler; per crawler poll WaitForCrawler, GetCrawlerState,
 * CountCrawlerPoll, IsCrawlerDone; StartExtractJob; per job poll WaitForExtractJob,
 * GetExtractJobState, CountExtractJobPoll, IsExtractJobDone; PublishExtracts, CompleteRun, Done.
 * Step Functions bills each state entered (test/unit/monthly-extract.flow.test.ts checks this
 * against the path a run takes).
 */
export function successfulRunTransitions(crawlerPolls: number, extractJobPolls: number): number {
  return 4 + 4 * crawlerPolls + 1 + 4 * extractJobPolls + 3;
}

/** Lambda requests on that path: ResolveRun, StartCrawler, each crawler poll, StartExtractJob, each job poll, PublishExtracts, CompleteRun. */
export function successfulRunLambdaRequests(crawlerPolls: number, extractJobPolls: number): number {
  return 2 + crawlerPolls + 1 + extractJobPolls + 2;
}

export function estimateRunCost(usage: RunUsage, publish: PublishUsage, prices: Prices): EstimatedCost {
  const dpuSeconds = usage.glueDpuSeconds === null ? null : decimalOfNumber(usage.glueDpuSeconds);
  const transitions = successfulRunTransitions(usage.crawlerPolls, usage.extractJobPolls);
  const requests = successfulRunLambdaRequests(usage.crawlerPolls, usage.extractJobPolls);
  const durationMs = Math.ceil(publish.durationMs);
  if (!Number.isSafeInteger(publish.memoryMb) || publish.memoryMb <= 0) throw new Error(`memory must be whole megabytes, got ${publish.memoryMb}`);

  // USD = DPU-seconds × price per DPU-hour / 3600
  const glue = dpuSeconds === null ? null : microUsd(fraction([dpuSeconds, prices.gluePerDpuHour], 3600n));
  // USD = transitions × price per 1,000 / 1,000
  const stepFunctions = microUsd(fraction([String(transitions), prices.stepFunctionsPer1000Transitions], 1000n));
  // USD = requests × price per 1M / 1M + ms × MB × price per GB-s / (1,000 ms × 1,024 MB)
  const lambdaRequests = fraction([String(requests), prices.lambdaPer1MRequests], 1_000_000n);
  const lambdaDuration = fraction([String(durationMs), String(publish.memoryMb), prices.lambdaPerGbSecond], 1000n * 1024n);
  const lambda = microUsd(add(lambdaRequests, lambdaDuration));

  return {
    currency: 'USD',
    total: formatMicroUsd((glue ?? 0n) + stepFunctions + lambda),
    glue: { dpuSeconds, pricePerDpuHour: prices.gluePerDpuHour, cost: glue === null ? null : formatMicroUsd(glue) },
    stepFunctions: { stateTransitions: transitions, pricePer1000Transitions: prices.stepFunctionsPer1000Transitions, cost: formatMicroUsd(stepFunctions) },
    lambda: {
      requests,
      pricePer1MRequests: prices.lambdaPer1MRequests,
      publishDurationMs: durationMs,
      publishMemoryMb: publish.memoryMb,
      pricePerGbSecond: prices.lambdaPerGbSecond,
      cost: formatMicroUsd(lambda),
    },
  };
}

/** A decimal string as a whole number of micro-USD (exact: at most 6 decimals are allowed). */
export function parseMicroUsd(text: string): bigint {
  const { units, scale } = parseDecimal(text);
  if (scale > 6) throw new Error(`${text} has more than 6 decimals`);
  return units * 10n ** BigInt(6 - scale);
}

export function formatMicroUsd(micro: bigint): string {
  const sign = micro < 0n ? '-' : '';
  const abs = micro < 0n ? -micro : micro;
  return `${sign}${abs / 1_000_000n}.${(abs % 1_000_000n).toString().padStart(6, '0')}`;
}

interface Fraction {
  readonly numerator: bigint;
  readonly denominator: bigint;
}

interface Decimal {
  /** value = units / 10^scale */
  readonly units: bigint;
  readonly scale: number;
}

function parseDecimal(text: string): Decimal {
  if (!DECIMAL_TEXT.test(text)) throw new Error(`${JSON.stringify(text)} is not a non-negative decimal`);
  const [whole, fractional = ''] = text.split('.');
  return { units: BigInt(`${whole}${fractional}`), scale: fractional.length };
}

/** The product of decimals divided by a whole number, exactly. */
function fraction(factors: readonly string[], divisor: bigint): Fraction {
  let numerator = 1n;
  let scale = 0;
  for (const factor of factors) {
    const d = parseDecimal(factor);
    numerator *= d.units;
    scale += d.scale;
  }
  return { numerator, denominator: divisor * 10n ** BigInt(scale) };
}

function add(a: Fraction, b: Fraction): Fraction {
  return { numerator: a.numerator * b.denominator + b.numerator * a.denominator, denominator: a.denominator * b.denominator };
}

/** Rounded half up (all amounts are non-negative) to whole micro-USD. */
function microUsd({ numerator, denominator }: Fraction): bigint {
  const scaled = numerator * 1_000_000n;
  return (2n * scaled + denominator) / (2n * denominator);
}

/** A JSON number as the decimal it reads as (Glue's DPUSeconds is a double; `1234.5` stays 1234.5). */
function decimalOfNumber(value: number): string {
  const text = String(value);
  // Exponent notation only for values below 1e-6 or from 1e21: a fixed form with enough digits.
  return /e/i.test(text) ? value.toFixed(20).replace(/\.?0+$/, '') : text;
}
