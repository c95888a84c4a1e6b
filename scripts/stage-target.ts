/**
 * Where an operator's command acts: a deployed stage (`--stage prod [--region …]`) or the local
 * pipeline's data dir (`--data-dir DIR`, the default). Never both.
 */
import { InvalidInputError } from '../functions/core/errors';

export type StageTarget =
  | { readonly kind: 'local'; readonly dataDir: string | undefined }
  | { readonly kind: 'deployed'; readonly stage: string; readonly region: string | undefined };

/** As `osls deploy --stage` takes it. */
export const STAGE_PATTERN = /^[a-zA-Z0-9-]{1,40}$/;

export function parseStageTarget(args: { stage?: string; region?: string; 'data-dir'?: string }): StageTarget {
  if (args.stage === undefined) {
    if (args.region !== undefined) throw new InvalidInputError('region', 'goes with --stage (a deployed stage); the local run has no region');
    return { kind: 'local', dataDir: args['data-dir'] };
  }
  if (args['data-dir'] !== undefined) throw new InvalidInputError('data-dir', 'is the local pipeline; --stage is a deployed one: give one of them');
  if (!STAGE_PATTERN.test(args.stage)) {
    throw new InvalidInputError('stage', `must be letters, digits and dashes (as given to osls deploy --stage), got "${args.stage}"`);
  }
  return { kind: 'deployed', stage: args.stage, region: args.region };
}
