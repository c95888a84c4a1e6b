/**
 * Checks a handler's payload against its schema before the handler runs (Powertools' parser as
 * middy middleware). A payload that does not fit fails the invocation with InvalidPayload naming
 * each bad field, e.g. `run.stagingPrefix: must be this run's staging prefix …`, rather than the
 * parser's dump of the schema library's issue list.
 */
import { ParseError } from '@aws-lambda-powertools/parser';
import { parser } from '@aws-lambda-powertools/parser/middleware';
import type { MiddlewareObj } from '@middy/core';
import type { StandardSchemaV1 } from '@standard-schema/spec';
import type { z } from 'zod';
import { InvalidPayloadError } from '../../core/errors';

export function validPayload(schema: z.ZodType): MiddlewareObj[] {
  const naming: MiddlewareObj = {
    onError: (request) => {
      if (request.error instanceof ParseError) request.error = new InvalidPayloadError(describeIssues(request.error.cause));
    },
  };
  return [parser({ schema }), naming];
}

/** The parser puts the schema's issues (Standard Schema: message and path) in the ParseError's cause. */
function describeIssues(cause: unknown): string {
  if (!Array.isArray(cause) || cause.length === 0) return `payload rejected: ${String(cause)}`;
  return (cause as readonly StandardSchemaV1.Issue[])
    .map((issue) => {
      const path = (issue.path ?? []).map((segment) => String(typeof segment === 'object' ? segment.key : segment));
      return `${path.length ? path.join('.') : 'payload'}: ${issue.message}`;
    })
    .join('; ');
}
