/** The benchmark's arithmetic: medians, ratios, targets and the README section. No timing is asserted anywhere. */
import { replaceResultsSection, RESULTS_END, RESULTS_START } from '../../bench/report';
import { splitByBank, type RunMeasure } from '../../bench/sides';
import { formatBytes, median, medianByKey, parseSize, ratio } from '../../bench/stats';
import { datasetRatios, evaluateTargets, historyRatios, summarizeSide, type DatasetResult } from '../../bench/summary';
import { extractHeader } from '../../functions/core/extract-csv';
import { LOAN_EXTRACT } from '../support/run-context';

const EXTRACT_HEADER = extractHeader(LOAN_EXTRACT);

describe('median and ratio', () => {
  it('takes the middle value, or the mean of the middle two', () => {
    expect(median([3, 1, 2])).toBe(2);
    expect(median([4, 1, 3, 2])).toBe(2.5);
    expect(median([])).toBeUndefined();
  });

  it('has no ratio without both values or with a zero divisor', () => {
    expect(ratio(3, 2)).toBe(1.5);
    expect(ratio(undefined, 2)).toBeUndefined();
    expect(ratio(3, 0)).toBeUndefined();
  });

  it('takes medians key by key over the records that have the key', () => {
    expect(medianByKey([{ a: 1, b: 10 }, { a: 3 }, { a: 2, b: 20 }])).toEqual({ a: 2, b: 15 });
  });
});

describe('parseSize and formatBytes', () => {
  it.each([
    ['1M', 1_000_000],
    ['10M', 10_000_000],
    ['250k', 250_000],
    ['1.5M', 1_500_000],
    ['1234', 1234],
  ])('%s → %d', (text, value) => expect(parseSize(text)).toBe(value));

  it.each(['', '0', '-1M', '1G', 'ten'])('refuses %j', (text) => expect(() => parseSize(text)).toThrow(/size/));

  it('prints binary units', () => {
    expect(formatBytes(512)).toBe('512 B');
    expect(formatBytes(1536)).toBe('1.5 KiB');
    expect(formatBytes(3 * 1024 ** 3)).toBe('3.0 GiB');
  });
});

describe('the floor CSV, split into the per-bank files the engine stages', () => {
  it('keeps quoted fields, doubled quotes and line breaks, and writes NULL (unquoted empty) and "" alike, as the contract does', () => {
    const floor = 'bank_id,a,b,c\n1,a,"b,""c""",\n1,"x\ny","",z\n';
    expect(splitByBank(floor).map((b) => b.toString('utf8'))).toEqual([`${EXTRACT_HEADER}a,"b,""c""",\n"x\ny",,z\n`]);
  });

  it('drops bank_id and starts each bank with the contract header', () => {
    const floor = [
      'bank_id,bank_name,branch_id,branch_address,month,loan_count,loan_amount,loan_count_3m,loan_amount_3m,moving_avg_3m',
      '1,First National Bank,1001,"Shop 1, ""The Grove""",2024-03,1,5,2,10,3.33',
      '2,Nedbank,2001,1 Main Road,2024-03,0,0,0,0,0.00',
      '1,First National Bank,1002,2 Long Street,2024-03,0,0,0,0,0.00',
      '',
    ].join('\n');
    expect(splitByBank(floor).map((b) => b.toString('utf8'))).toEqual([
      `${EXTRACT_HEADER}First National Bank,1001,"Shop 1, ""The Grove""",2024-03,1,5,2,10,3.33\nFirst National Bank,1002,2 Long Street,2024-03,0,0,0,0,0.00\n`,
      `${EXTRACT_HEADER}Nedbank,2001,1 Main Road,2024-03,0,0,0,0,0.00\n`,
    ]);
  });
});

function run(ms: number, extra: Partial<RunMeasure> = {}): RunMeasure {
  return { ms, wallMs: ms + 100, rowsExamined: { loans: 10 }, loansIndexScans: 1, outputSha256: ['abc'], outputBytes: 10, loadAvg1: 1, ...extra };
}

function dataset(name: string, months: number, sides: Record<string, number[]>, extra: Partial<DatasetResult> = {}): DatasetResult {
  return {
    name,
    databaseName: 'x',
    loansPer36Months: Number(name.split('M')[0]) * 1_000_000,
    months,
    firstMonth: '2020-01',
    month: '2024-03',
    counts: { banks: 3, branches: 300, clients: 250, accounts: 250, loans: 1000 * months, loansNullDate: 2, loansInWindow: 98, loansTableBytes: 1 },
    generated: false,
    generateMs: 0,
    loansReadPlan: '',
    runsPerSide: 3,
    sides: Object.fromEntries(
      Object.entries(sides).map(([side, times]) => [
        side,
        summarizeSide(times.map((t) => run(t, side === 'engine' ? { sourceRows: { bank: 3, branch: 300, client: 250, account: 250, loans: 100 }, peakRssBytes: 200 * 1024 ** 2 } : {})), undefined, undefined),
      ]),
    ),
    ...extra,
  };
}

describe('ratios and targets', () => {
  const d36 = dataset('10M/36', 36, { pipeline: [30, 10, 20], engine: [4, 3, 5], floor: [2, 2, 2], naive: [40, 40, 40] });
  const d72 = dataset('10M/72', 72, { pipeline: [21, 21, 21], engine: [4, 4, 4], floor: [2, 2, 2], naive: [80, 80, 80] });

  it('divides the medians', () => {
    const r = datasetRatios(d36);
    expect(r.pipelineOverFloor).toBe(10);
    expect(r.engineOverFloor).toBe(2);
    expect(r.naiveOverPipeline).toBe(2);
    expect(r.loansReadShare).toBeCloseTo(100 / 36_000);
    expect(r.loansWindowShare).toBeCloseTo(100 / 36_000);
    expect(r.allRowsReadShare).toBeCloseTo(903 / (3 + 300 + 250 + 250 + 36_000));
  });

  it('compares the 72-month source with the 36-month one of the same size', () => {
    expect(historyRatios([d72, d36])).toEqual([
      { size: '10M', side: 'pipeline', ratio: 1.05 },
      { size: '10M', side: 'engine', ratio: 1 },
      { size: '10M', side: 'floor', ratio: 1 },
      { size: '10M', side: 'naive', ratio: 2 },
    ]);
  });

  it('judges the targets at the largest size only, and says when one was not measured', () => {
    const small = dataset('1M/36', 36, { engine: [100], floor: [1] });
    const targets = evaluateTargets([small, d36, d72], { ok: false, error: 'osls failed' });
    expect(targets.map((t) => [t.name, t.met])).toEqual([
      ['engine step within 2× of the PostgreSQL floor', true],
      ['monthly run independent of history length', true],
      ["rows read at most the window's share of the table", true],
      ['rows the engine receives for the month', true],
      ['rows the engine receives flat in history', true],
      ['bytes the engine receives from PostgreSQL', undefined],
      ['engine peak RSS under 1 GiB', true],
      ['every Lambda bundle under 1 MB zipped', undefined],
    ]);
    const big = evaluateTargets([d36], {
      ok: true,
      packageMs: 1,
      individually: true,
      bundles: [{ function: 'a', handler: 'functions/a.handler', zip: 'a.zip', zipBytes: 1024 * 1024, coldImportMs: 5 }],
    });
    expect(big.find((t) => t.name.startsWith('every Lambda'))?.met).toBe(false);
    // Within 10% either way: a 72-month run 20% faster is as far from "independent" as one 20% slower.
    const faster = dataset('10M/72', 72, { pipeline: [16, 16, 16], engine: [4], floor: [2] });
    expect(evaluateTargets([d36, faster], undefined).find((t) => t.name.startsWith('monthly run'))).toMatchObject({ measured: 'pipeline: 0.80×; engine: 1.00×', met: false });
    expect(big.find((t) => t.name.startsWith('monthly run'))?.met).toBeUndefined();
  });

  it('judges what the month reads: rows received (each engine), their growth with history, bytes, and time against the compared run', () => {
    const reads = (name: string, months: number, loans: number, client: number, bytes: number, ms: number) =>
      dataset(name, months, {}, {
        sides: {
          engine: summarizeSide([run(ms, { sourceRows: { bank: 3, branch: 300, client, account: client, loans }, pgBytesRead: bytes })], undefined, undefined),
          spark: summarizeSide([run(ms * 10, { sourceRows: { bank: 3, branch: 300, client: 2_500_000, account: 2_500_000, loans } })], undefined, undefined),
        },
      });
    const MIB = 1024 ** 2;
    const targets = evaluateTargets([reads('10M/36', 36, 837_000, 710_000, 34 * MIB, 2000), reads('10M/72', 72, 840_000, 710_000, 51 * MIB, 2500)], undefined, [
      reads('10M/36', 36, 837_000, 2_500_000, 113 * MIB, 3000),
      reads('10M/72', 72, 840_000, 2_500_000, 113 * MIB, 3000),
    ]);
    const met = Object.fromEntries(targets.map((t) => [t.name, t.met]));
    expect(met['rows the engine receives for the month']).toBe(true);
    expect(met['rows the engine receives flat in history']).toBe(true);
    expect(met['rows the Spark job receives for the month']).toBe(false);
    expect(targets.find((t) => t.name === 'bytes the engine receives from PostgreSQL')).toMatchObject({ measured: '10M/36: 34.0 MiB; 10M/72: 51.0 MiB', met: false });
    expect(targets.find((t) => t.name === 'engine time against the compared run')).toMatchObject({ measured: '10M/36: 0.67×; 10M/72: 0.83×', met: false });
  });
});

describe('the README results section', () => {
  it('replaces only what is between the markers', () => {
    const readme = `# Bench\n\nprose\n\n${RESULTS_START}\nold table\n${RESULTS_END}\n\nmore prose\n`;
    expect(replaceResultsSection(readme, 'new table')).toBe(`# Bench\n\nprose\n\n${RESULTS_START}\nnew table\n${RESULTS_END}\n\nmore prose\n`);
    expect(() => replaceResultsSection('# no markers', 'x')).toThrow(/markers/);
  });
});
