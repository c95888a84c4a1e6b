/** The extract folders the engine tests run: the loan extract, and the second extract of the fixtures. */
import { join } from 'node:path';
import { DEFAULT_EXTRACT_ID, REPOSITORY_ROOT, findExtract, loadExtractFolder, type ExtractFolder } from '../../extracts/folders';

export const LOAN_FOLDER: ExtractFolder = findExtract(DEFAULT_EXTRACT_ID);

/** Split by branch, every table read whole, no rejected SQL, no analytics (test/fixtures/extracts/client-activity). */
export const CLIENT_ACTIVITY_FOLDER: ExtractFolder = loadExtractFolder(join(REPOSITORY_ROOT, 'test', 'fixtures', 'extracts', 'client-activity'));
