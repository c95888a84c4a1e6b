/** Extract ids as the execution input and the operators' commands take them. */
import { extractDefinitionSchema } from './extract-definition';

/** The extract every input and command means when it names none: the contract's loan extract. */
export const DEFAULT_EXTRACT_ID = 'loan-moving-average';

/** An id a definition could have (the definition schema's own rule, so the two cannot drift apart). */
export function isExtractId(text: unknown): text is string {
  return extractDefinitionSchema.unwrap().shape.id.safeParse(text).success;
}

/** EXTRACT_IDS as the deploy sets it, `loan-moving-average,client-activity`: every extract it deployed. */
export function parseExtractIds(text: string, name = 'EXTRACT_IDS'): string[] {
  const ids = text.split(',').map((id) => id.trim());
  const bad = ids.filter((id) => !isExtractId(id));
  if (bad.length > 0) throw new Error(`${name} must be extract ids separated by commas; ${bad.map((id) => JSON.stringify(id)).join(', ')} is not one`);
  return [...new Set(ids)];
}
