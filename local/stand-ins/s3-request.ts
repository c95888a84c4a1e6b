/**
 * What the S3 stand-in checks in a request before acting on it, as S3 does: the Signature Version 4
 * of the Authorization header, the body's length and digests (x-amz-content-sha256, Content-MD5,
 * x-amz-checksum-*), and the `aws-chunked` encoding the SDK uses for streamed bodies. Also the little
 * XML the API needs.
 */
import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import type { IncomingHttpHeaders, IncomingMessage } from 'node:http';
import { Digests, S3Error, type Blob } from './s3-store';

export interface S3Credentials {
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
}

/** Throws the S3 error the request earns if it is not signed with `credentials` (SigV4, in the Authorization header). */
export function checkSignature(request: IncomingMessage, credentials: S3Credentials): void {
  const authorization = request.headers.authorization;
  if (!authorization) {
    const presigned = (request.url ?? '').includes('X-Amz-Signature=');
    throw new S3Error('AccessDenied', 403, presigned ? 'The S3 stand-in does not take presigned URLs' : 'Access Denied: the request is not signed');
  }
  const match = /^AWS4-HMAC-SHA256 Credential=([^/,]+)\/(\d{8}\/[^/,]+\/s3\/aws4_request), ?SignedHeaders=([a-z0-9;-]+), ?Signature=([0-9a-f]{64})$/.exec(
    authorization,
  );
  if (!match) throw new S3Error('AuthorizationHeaderMalformed', 400, 'The authorization header is malformed.');
  const [, accessKeyId, scope, signedHeaders, signature] = match as unknown as [string, string, string, string, string];
  if (accessKeyId !== credentials.accessKeyId) {
    throw new S3Error('InvalidAccessKeyId', 403, 'The AWS Access Key Id you provided does not exist in our records.', { AWSAccessKeyId: accessKeyId });
  }
  const amzDate = header(request.headers, 'x-amz-date');
  const payloadHash = header(request.headers, 'x-amz-content-sha256');
  if (!amzDate || !payloadHash) throw new S3Error('InvalidRequest', 400, 'Missing required header for this request: x-amz-date or x-amz-content-sha256');
  const [path = '/', query = ''] = splitOnce(request.url ?? '/', '?');
  const canonicalRequest = [
    request.method,
    path,
    canonicalQuery(query),
    signedHeaders
      .split(';')
      .map((name) => `${name}:${(request.headersDistinct[name] ?? []).map((v) => v.trim().replace(/\s+/g, ' ')).join(',')}\n`)
      .join(''),
    signedHeaders,
    payloadHash,
  ].join('\n');
  const stringToSign = ['AWS4-HMAC-SHA256', amzDate, scope, createHash('sha256').update(canonicalRequest).digest('hex')].join('\n');
  let key: Buffer = Buffer.from(`AWS4${credentials.secretAccessKey}`);
  for (const part of scope.split('/')) key = createHmac('sha256', key).update(part).digest();
  const expected = createHmac('sha256', key).update(stringToSign).digest();
  if (!timingSafeEqual(expected, Buffer.from(signature, 'hex'))) {
    throw new S3Error(
      'SignatureDoesNotMatch',
      403,
      'The request signature we calculated does not match the signature you provided. Check your key and signing method.',
      {
        AWSAccessKeyId: accessKeyId,
        StringToSign: stringToSign,
        CanonicalRequest: canonicalRequest,
      },
    );
  }
}

/** The query as SigV4 signs it: every name and value URI-encoded (RFC 3986), sorted. */
function canonicalQuery(query: string): string {
  return query
    .split('&')
    .filter(Boolean)
    .map((pair) => splitOnce(pair, '=').map((part) => uriEncode(safeDecode(part ?? ''))) as [string, string])
    .sort(([a, x], [b, y]) => (a < b ? -1 : a > b ? 1 : x < y ? -1 : x > y ? 1 : 0))
    .map(([name, value = '']) => `${name}=${value}`)
    .join('&');
}

function uriEncode(text: string): string {
  return encodeURIComponent(text).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
}

function safeDecode(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}

function splitOnce(text: string, separator: string): [string, string | undefined] {
  const at = text.indexOf(separator);
  return at < 0 ? [text, undefined] : [text.slice(0, at), text.slice(at + separator.length)];
}

export function header(headers: IncomingHttpHeaders, name: string): string | undefined {
  const value = headers[name];
  return Array.isArray(value) ? value.join(',') : value;
}

/**
 * The request's body as sent: decoded from `aws-chunked` (the SDK's encoding of a streamed body,
 * signed or not, with checksum trailers) when the payload hash says so. Trailers land in `trailers`.
 */
export function bodyOf(request: IncomingMessage, trailers: Record<string, string>): AsyncIterable<Uint8Array> {
  const payloadHash = header(request.headers, 'x-amz-content-sha256') ?? '';
  return payloadHash.startsWith('STREAMING-') ? decodeAwsChunked(request, trailers) : request;
}

async function* decodeAwsChunked(source: AsyncIterable<Uint8Array>, trailers: Record<string, string>): AsyncGenerator<Uint8Array> {
  const malformed = () => new S3Error('IncompleteBody', 400, 'The request body is not valid aws-chunked encoding, or ended early.');
  let buffer = Buffer.alloc(0);
  let state = 'size' as 'size' | 'data' | 'end-of-data' | 'trailer' | 'done';
  let remaining = 0;
  for await (const chunk of source) {
    buffer = buffer.length === 0 ? Buffer.from(chunk) : Buffer.concat([buffer, chunk]);
    for (;;) {
      if (state === 'data') {
        if (buffer.length === 0) break;
        const take = Math.min(remaining, buffer.length);
        yield buffer.subarray(0, take);
        buffer = buffer.subarray(take);
        remaining -= take;
        if (remaining === 0) state = 'end-of-data';
        continue;
      }
      if (state === 'end-of-data') {
        if (buffer.length < 2) break;
        if (buffer[0] !== 0x0d || buffer[1] !== 0x0a) throw malformed();
        buffer = buffer.subarray(2);
        state = 'size';
        continue;
      }
      if (state === 'done') {
        if (buffer.length > 0) throw malformed();
        break;
      }
      const end = buffer.indexOf('\r\n');
      if (end < 0) {
        if (buffer.length > 64 * 1024) throw malformed();
        break;
      }
      const line = buffer.subarray(0, end).toString('latin1');
      buffer = buffer.subarray(end + 2);
      if (state === 'size') {
        const size = /^[0-9a-fA-F]+(?=;|$)/.exec(line);
        if (!size) throw malformed();
        remaining = parseInt(size[0], 16);
        state = remaining === 0 ? 'trailer' : 'data';
      } else if (line === '') {
        state = 'done';
      } else {
        const [name, value = ''] = splitOnce(line, ':');
        trailers[name.trim().toLowerCase()] = value.trim();
      }
    }
  }
  if (state !== 'done') throw malformed();
}

/**
 * Throws what S3 answers when the body received is not the one the headers (and trailers) describe:
 * its length, SHA-256 (a signed payload), Content-MD5, x-amz-checksum-{crc32,sha1,sha256}.
 * CRC32C and CRC64NVME checksums are not checked (Node has neither).
 */
export function checkBody(headers: IncomingHttpHeaders, trailers: Readonly<Record<string, string>>, body: Omit<Blob, 'path'>): void {
  const decodedLength = header(headers, 'x-amz-decoded-content-length');
  if (decodedLength !== undefined && Number(decodedLength) !== body.size) {
    throw new S3Error(
      'IncompleteBody',
      400,
      `You did not provide the number of bytes specified by the x-amz-decoded-content-length HTTP header (${decodedLength}, got ${body.size})`,
    );
  }
  const payloadHash = header(headers, 'x-amz-content-sha256');
  if (payloadHash && /^[0-9a-f]{64}$/.test(payloadHash) && payloadHash !== body.sha256) {
    throw new S3Error('XAmzContentSHA256Mismatch', 400, "The provided 'x-amz-content-sha256' header does not match what was computed.", {
      ClientComputedContentSHA256: payloadHash,
      S3ComputedContentSHA256: body.sha256,
    });
  }
  const contentMd5 = header(headers, 'content-md5');
  if (contentMd5 !== undefined && contentMd5 !== Buffer.from(body.md5, 'hex').toString('base64')) {
    throw new S3Error('BadDigest', 400, 'The Content-MD5 you specified did not match what we received.');
  }
  for (const algorithm of ['crc32', 'sha1', 'sha256'] as const) {
    const name = `x-amz-checksum-${algorithm}`;
    const expected = header(headers, name) ?? trailers[name];
    if (expected !== undefined && expected !== body.checksums[algorithm]) {
      throw new S3Error('BadDigest', 400, `The ${algorithm.toUpperCase()} you specified did not match the calculated checksum.`);
    }
  }
}

/** A small body (an XML request), read whole and checked. */
export async function readSmallBody(request: IncomingMessage, limit = 4 * 1024 * 1024): Promise<string> {
  const trailers: Record<string, string> = {};
  const digests = new Digests();
  const chunks: Buffer[] = [];
  let length = 0;
  for await (const chunk of bodyOf(request, trailers)) {
    length += chunk.length;
    if (length > limit) throw new S3Error('MaxMessageLengthExceeded', 400, 'Your request was too big.');
    digests.update(chunk);
    chunks.push(Buffer.from(chunk));
  }
  checkBody(request.headers, trailers, digests.result());
  return Buffer.concat(chunks).toString('utf8');
}

export function xmlEscape(text: string): string {
  return text.replace(/[&<>"'\r\n]/g, (c) => `&#${c.charCodeAt(0)};`);
}

export function xmlUnescape(text: string): string {
  const named: Record<string, string> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'" };
  return text.replace(/&(#x[0-9a-fA-F]+|#\d+|amp|lt|gt|quot|apos);/g, (_, entity: string) =>
    entity.startsWith('#x')
      ? String.fromCodePoint(parseInt(entity.slice(2), 16))
      : entity.startsWith('#')
        ? String.fromCodePoint(Number(entity.slice(1)))
        : named[entity]!,
  );
}

/** The text of each `<name>…</name>` in `xml` (no attributes, no nesting of the same name: what S3's request bodies are). */
export function xmlElements(xml: string, name: string): string[] {
  return [...xml.matchAll(new RegExp(`<${name}(?:\\s[^>]*)?>([\\s\\S]*?)</${name}>`, 'g'))].map((m) => m[1]!);
}

/** An XML document: `<root xmlns=S3>` (an error has no namespace) then the elements, each value escaped; arrays repeat the element, nested objects nest. */
export type XmlValue = string | number | boolean | undefined | XmlObject | XmlValue[];
export interface XmlObject {
  readonly [name: string]: XmlValue;
}

export function xmlDocument(root: string, body: XmlObject, namespaced = true): string {
  const namespace = namespaced ? ' xmlns="http://s3.amazonaws.com/doc/2006-03-01/"' : '';
  return `<?xml version="1.0" encoding="UTF-8"?>\n<${root}${namespace}>${xmlElementsOf(body)}</${root}>`;
}

function xmlElementsOf(body: XmlObject): string {
  return Object.entries(body)
    .flatMap(([name, value]) => (Array.isArray(value) ? value.map((v) => [name, v] as const) : [[name, value] as const]))
    .map(([name, value]) => {
      if (value === undefined) return '';
      const inner = typeof value === 'object' ? xmlElementsOf(value as XmlObject) : xmlEscape(String(value));
      return `<${name}>${inner}</${name}>`;
    })
    .join('');
}
