/**
 * What an extract month's published files look like from the outside: its manifest (at the key of the
 * extract's definition), and each file checked against it (bytes and SHA-256 recomputed from the
 * plain copy), as an auditor would.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { DEFAULT_EXTRACT_ID, findExtract } from '../../extracts/folders';
import { renderKey, type ExtractDefinition } from '../../functions/core/extract-definition';
import type { EstimatedCost } from '../../functions/core/run-cost';
import { monthWindow, parseMonth } from '../../functions/core/month';
import { fileDigest } from '../stand-ins/file-digest';

export interface PublishedFile {
  readonly key: string;
  /** The plain copy on this machine. */
  readonly path: string;
  /** The split entity's name (the manifest's `manifestFields.name` field: `bankName` for the loan extract). */
  readonly entityName: string;
  readonly rows: number;
  readonly bytes: number;
  readonly sha256: string;
  /** The plain copy's bytes and SHA-256 match the manifest. */
  readonly matchesManifest: boolean;
}

export interface PublishedMonth {
  readonly manifestKey: string;
  readonly manifestPath: string;
  readonly runId: string;
  /** The manifest's rows read from the ODS, per table. */
  readonly sourceRowsRead: Readonly<Record<string, number>>;
  readonly files: readonly PublishedFile[];
  /** The manifest's estimated cost of the run that published it, if it has one. */
  readonly estimatedCost?: EstimatedCost;
}

/** The manifest as read here: only the fields every extract's manifest has, the entity name by its field. */
interface PublishedManifest {
  readonly runId: string;
  readonly sourceRowsRead: Readonly<Record<string, number>>;
  readonly files: readonly (Readonly<Record<string, unknown>> & { key: string; rows: number; bytes: number; sha256: string })[];
  readonly estimatedCost?: EstimatedCost;
}

/** The month as published under `root` (a plain copy of the bucket), or undefined if it has no manifest. */
export async function readPublishedMonth(
  root: string,
  month: string,
  extract: ExtractDefinition = findExtract(DEFAULT_EXTRACT_ID).definition,
): Promise<PublishedMonth | undefined> {
  const key = renderKey(extract.output.keys.manifest, monthWindow(parseMonth(month)));
  const manifestPath = join(root, ...key.split('/'));
  const text = await readFile(manifestPath, 'utf8').catch((error: NodeJS.ErrnoException) => {
    if (error.code === 'ENOENT') return undefined;
    throw error;
  });
  if (text === undefined) return undefined;
  const manifest = JSON.parse(text) as PublishedManifest;
  const files: PublishedFile[] = [];
  for (const file of manifest.files) {
    const path = join(root, ...file.key.split('/'));
    // Length and SHA-256 of the plain copy's bytes, from one read of them: what a consumer would get.
    const actual = await fileDigest(path);
    files.push({
      key: file.key,
      path,
      entityName: String(file[extract.output.manifestFields.name] ?? ''),
      rows: file.rows,
      bytes: file.bytes,
      sha256: file.sha256,
      matchesManifest: actual !== undefined && actual.bytes === file.bytes && actual.sha256 === file.sha256,
    });
  }
  return {
    manifestKey: key,
    manifestPath,
    runId: manifest.runId,
    sourceRowsRead: manifest.sourceRowsRead,
    files,
    ...(manifest.estimatedCost ? { estimatedCost: manifest.estimatedCost } : {}),
  };
}
