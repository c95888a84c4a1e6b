/**
 * An in-memory stand-in for the ledger table behind aws-sdk-client-mock: it evaluates the
 * condition and update expressions the ledger sends (the small subset it uses), so tests see
 * what DynamoDB would do with them, including refusing a write whose condition no longer holds.
 */
import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import {
  DeleteCommand,
  GetCommand,
  PutCommand,
  UpdateCommand,
  type DeleteCommandInput,
  type DynamoDBDocumentClient,
  type GetCommandInput,
  type PutCommandInput,
  type UpdateCommandInput,
} from '@aws-sdk/lib-dynamodb';
import type { AwsClientStub } from 'aws-sdk-client-mock';

type Item = Record<string, unknown>;
type Names = Record<string, string> | undefined;
type Values = Record<string, unknown> | undefined;

export class FakeLedgerTable {
  readonly items = new Map<string, Item>();

  constructor(ddb: AwsClientStub<DynamoDBDocumentClient>) {
    ddb.on(GetCommand).callsFake(async (input: GetCommandInput) => {
      const item = this.items.get(keyOf(input.Key));
      return { Item: item ? structuredClone(item) : undefined };
    });
    ddb.on(PutCommand).callsFake(async (input: PutCommandInput) => {
      const pk = keyOf(input.Item);
      this.check(input.ConditionExpression, this.items.get(pk), input.ExpressionAttributeNames, input.ExpressionAttributeValues);
      this.items.set(pk, structuredClone(input.Item as Item));
      return {};
    });
    ddb.on(DeleteCommand).callsFake(async (input: DeleteCommandInput) => {
      this.items.delete(keyOf(input.Key));
      return {};
    });
    ddb.on(UpdateCommand).callsFake(async (input: UpdateCommandInput) => {
      const pk = keyOf(input.Key);
      const current = this.items.get(pk);
      this.check(input.ConditionExpression, current, input.ExpressionAttributeNames, input.ExpressionAttributeValues, input.UpdateExpression);
      const updated = applyUpdate(
        input.UpdateExpression ?? '',
        structuredClone(current ?? { pk }),
        input.ExpressionAttributeNames,
        input.ExpressionAttributeValues,
      );
      this.items.set(pk, updated);
      return { Attributes: structuredClone(updated) };
    });
  }

  private check(condition: string | undefined, item: Item | undefined, names: Names, values: Values, update = ''): void {
    // DynamoDB rejects a request that defines a name or value its expressions do not use.
    const expressions = `${update} ${condition ?? ''}`;
    for (const placeholder of [...Object.keys(names ?? {}), ...Object.keys(values ?? {})]) {
      if (!new RegExp(`${placeholder}\\b`).test(expressions)) throw new Error(`ValidationException: ${placeholder} is defined but not used`);
    }
    if (condition && !evaluateCondition(condition, item, names, values)) {
      throw new ConditionalCheckFailedException({ message: 'The conditional request failed', $metadata: {} });
    }
  }
}

/** Evaluates `attribute_not_exists(x)`, `a = b`, `a < b`, AND, OR and parentheses, as DynamoDB does. */
export function evaluateCondition(expression: string, item: Item | undefined, names: Names, values: Values): boolean {
  const tokens = expression.match(/\(|\)|=|<|[#:]?\w+/g) ?? [];
  let at = 0;
  const next = () => tokens[at++];
  const peek = () => tokens[at];
  const operand = (token: string | undefined): unknown => {
    if (token === undefined) throw new Error(`condition ended early: ${expression}`);
    if (token.startsWith(':')) {
      if (!values || !(token in values)) throw new Error(`value ${token} is not defined`);
      return values[token];
    }
    return item?.[attributeName(token, names)];
  };
  const factor = (): boolean => {
    const token = next();
    if (token === '(') {
      const value = or();
      if (next() !== ')') throw new Error(`unbalanced parentheses: ${expression}`);
      return value;
    }
    if (token === 'attribute_not_exists') {
      next();
      const name = attributeName(next()!, names);
      next();
      return item === undefined || !(name in item);
    }
    const left = operand(token);
    const comparator = next();
    const right = operand(next());
    if (left === undefined) return false;
    if (comparator === '=') return left === right;
    if (comparator === '<') return (left as string | number) < (right as string | number);
    throw new Error(`unsupported comparator ${comparator}`);
  };
  const and = (): boolean => {
    let value = factor();
    while (peek() === 'AND') {
      next();
      value = factor() && value;
    }
    return value;
  };
  const or = (): boolean => {
    let value = and();
    while (peek() === 'OR') {
      next();
      value = and() || value;
    }
    return value;
  };
  const result = or();
  if (at !== tokens.length) throw new Error(`could not read the whole condition: ${expression}`);
  return result;
}

/** Applies `SET a = :v, b = list_append(if_not_exists(b, :empty), :x) REMOVE c`. */
function applyUpdate(expression: string, item: Item, names: Names, values: Values): Item {
  const match = /^SET (.+?)(?: REMOVE (.+))?$/.exec(expression);
  if (!match) throw new Error(`unsupported update: ${expression}`);
  const value = (token: string) => {
    if (!values || !(token in values)) throw new Error(`value ${token} is not defined`);
    return structuredClone(values[token]);
  };
  for (const assignment of match[1]!.split(/,(?![^(]*\))/)) {
    const [left, right] = assignment.split(' = ').map((part) => part.trim()) as [string, string];
    const append = /^list_append\(if_not_exists\((#?\w+), (:\w+)\), (:\w+)\)$/.exec(right);
    if (append) {
      const existing = item[attributeName(append[1]!, names)] ?? value(append[2]!);
      item[attributeName(left, names)] = [...(existing as unknown[]), ...(value(append[3]!) as unknown[])];
    } else {
      item[attributeName(left, names)] = value(right);
    }
  }
  for (const name of match[2]?.split(',') ?? []) delete item[attributeName(name.trim(), names)];
  return item;
}

function keyOf(key: Record<string, unknown> | undefined): string {
  const pk = key?.pk;
  if (typeof pk !== 'string') throw new Error('the ledger table is keyed by a string pk');
  return pk;
}

function attributeName(token: string, names: Names): string {
  if (!token.startsWith('#')) return token;
  const name = names?.[token];
  if (!name) throw new Error(`name ${token} is not defined`);
  return name;
}
