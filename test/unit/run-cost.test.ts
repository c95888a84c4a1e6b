import {
  estimateRunCost,
  formatMicroUsd,
  parseMicroUsd,
  pricesFromEnv,
  successfulRunLambdaRequests,
  successfulRunTransitions,
  type Prices,
} from '../../functions/core/run-cost';

const PRICES: Prices = {
  gluePerDpuHour: '0.44',
  stepFunctionsPer1000Transitions: '0.025',
  lambdaPerGbSecond: '0.0000133334',
  lambdaPer1MRequests: '0.20',
};
const PUBLISH = { durationMs: 0, memoryMb: 1024 };

describe('the estimated cost of a run', () => {
  it('prices the Glue job at DPU-seconds × price per DPU-hour / 3600, exactly', () => {
    // 10 G.1X workers for 15 minutes: 9000 DPU-seconds = 2.5 DPU-hours × 0.44 = 1.10 exactly.
    const cost = estimateRunCost({ crawlerPolls: 0, extractJobPolls: 0, glueDpuSeconds: 9000 }, PUBLISH, PRICES);
    expect(cost.glue).toEqual({ dpuSeconds: '9000', pricePerDpuHour: '0.44', cost: '1.100000' });
  });

  it('rounds each component half up to whole micro-USD, and the total is the sum of the rounded components', () => {
    // 1 DPU-second at 0.44/h = 0.000122222… → 0.000122; 0.45/h = 0.000125 exactly; 0.4482/h = 0.0001245 → half up 0.000125.
    expect(estimateRunCost({ crawlerPolls: 0, extractJobPolls: 0, glueDpuSeconds: 1 }, PUBLISH, PRICES).glue.cost).toBe('0.000122');
    expect(estimateRunCost({ crawlerPolls: 0, extractJobPolls: 0, glueDpuSeconds: 1 }, PUBLISH, { ...PRICES, gluePerDpuHour: '0.4482' }).glue.cost).toBe('0.000125');
    expect(estimateRunCost({ crawlerPolls: 0, extractJobPolls: 0, glueDpuSeconds: 1 }, PUBLISH, { ...PRICES, gluePerDpuHour: '0.4481999' }).glue.cost).toBe('0.000124');
    const cost = estimateRunCost({ crawlerPolls: 3, extractJobPolls: 7, glueDpuSeconds: 1234.5 }, { durationMs: 8123, memoryMb: 1024 }, PRICES);
    const sum = [cost.glue.cost!, cost.stepFunctions.cost, cost.lambda.cost].map(parseMicroUsd).reduce((a, b) => a + b, 0n);
    expect(cost.total).toBe(formatMicroUsd(sum));
  });

  it('gives amounts a float would get wrong exactly', () => {
    // 0.1 + 0.2 in floating point is 0.30000000000000004; as decimals priced here it is 0.3.
    const cost = estimateRunCost({ crawlerPolls: 0, extractJobPolls: 0, glueDpuSeconds: 3600 }, PUBLISH, { ...PRICES, gluePerDpuHour: '0.1' });
    expect(cost.glue.cost).toBe('0.100000');
    // A month of the largest run the ceilings allow: 240 job polls of a 100-worker G.8X job for 4 hours.
    const big = estimateRunCost({ crawlerPolls: 60, extractJobPolls: 240, glueDpuSeconds: 100 * 8 * 4 * 3600 }, PUBLISH, PRICES);
    expect(big.glue.cost).toBe('1408.000000');
  });

  it('counts the state transitions and Lambda requests of a successful execution from its poll counts', () => {
    expect(successfulRunTransitions(1, 1)).toBe(16);
    expect(successfulRunTransitions(2, 3)).toBe(28);
    expect(successfulRunLambdaRequests(2, 3)).toBe(10);
    const cost = estimateRunCost({ crawlerPolls: 2, extractJobPolls: 3, glueDpuSeconds: 0 }, { durationMs: 1500, memoryMb: 1024 }, PRICES);
    // 28 × 0.025 / 1000 = 0.0007
    expect(cost.stepFunctions).toEqual({ stateTransitions: 28, pricePer1000Transitions: '0.025', cost: '0.000700' });
    // 10 × 0.20 / 1M = 0.000002; 1.5 s × 1 GB × 0.0000133334 = 0.0000200001 → 0.000022 together
    expect(cost.lambda).toEqual({
      requests: 10,
      pricePer1MRequests: '0.20',
      publishDurationMs: 1500,
      publishMemoryMb: 1024,
      pricePerGbSecond: '0.0000133334',
      cost: '0.000022',
    });
  });

  it('leaves the job out of the total, saying so, when Glue reported nothing to price', () => {
    const cost = estimateRunCost({ crawlerPolls: 1, extractJobPolls: 1, glueDpuSeconds: null }, PUBLISH, PRICES);
    expect(cost.glue).toEqual({ dpuSeconds: null, pricePerDpuHour: '0.44', cost: null });
    expect(cost.total).toBe(formatMicroUsd(parseMicroUsd(cost.stepFunctions.cost) + parseMicroUsd(cost.lambda.cost)));
  });

  it('keeps a fractional DPU-seconds figure as the decimal Glue reported', () => {
    expect(estimateRunCost({ crawlerPolls: 0, extractJobPolls: 0, glueDpuSeconds: 15.25 }, PUBLISH, PRICES).glue.dpuSeconds).toBe('15.25');
  });

  it('formats and parses micro-USD as decimal strings', () => {
    expect(formatMicroUsd(0n)).toBe('0.000000');
    expect(formatMicroUsd(1_234_567_890n)).toBe('1234.567890');
    expect(parseMicroUsd('1234.56789')).toBe(1_234_567_890n);
    expect(() => parseMicroUsd('0.0000001')).toThrow(/more than 6 decimals/);
  });
});

describe('pricesFromEnv', () => {
  const env = {
    PRICE_GLUE_DPU_HOUR: '0.44',
    PRICE_STEP_FUNCTIONS_1000_TRANSITIONS: '0.025',
    PRICE_LAMBDA_GB_SECOND: '0.0000133334',
    PRICE_LAMBDA_1M_REQUESTS: '0.20',
  };

  it('reads the four prices as the decimal strings they are', () => {
    expect(pricesFromEnv(env)).toEqual(PRICES);
  });

  it('refuses a missing or non-decimal price, naming it', () => {
    expect(() => pricesFromEnv({ ...env, PRICE_GLUE_DPU_HOUR: undefined })).toThrow('PRICE_GLUE_DPU_HOUR environment variable is not set');
    expect(() => pricesFromEnv({ ...env, PRICE_LAMBDA_GB_SECOND: '1.3e-5' })).toThrow(/PRICE_LAMBDA_GB_SECOND environment variable must be a decimal/);
    expect(() => pricesFromEnv({ ...env, PRICE_LAMBDA_1M_REQUESTS: '-0.2' })).toThrow(/PRICE_LAMBDA_1M_REQUESTS/);
  });
});
