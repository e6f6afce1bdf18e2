import { type ArgumentsHost, ConflictException, Logger } from '@nestjs/common';
import { QueryFailedError } from 'typeorm';
import { ConflictError, InvalidRequestError, NotFoundError } from './domain-error.js';
import { HttpExceptionFilter } from './http-exception.filter.js';
import { onUniqueViolation } from './unique-violation.js';

class ThingNotFoundError extends NotFoundError {
  constructor() {
    super('Thing 7 not found');
  }
}
class ThingTakenError extends ConflictError {
  constructor() {
    super('Thing 7 already exists');
  }
}
class BadThingError extends InvalidRequestError {
  constructor() {
    super('things must not repeat');
  }
}

function uniqueViolation(constraint: string): QueryFailedError {
  return new QueryFailedError(
    'INSERT …',
    [],
    Object.assign(new Error(`duplicate key value violates unique constraint "${constraint}"`), {
      code: '23505',
      constraint,
    }),
  );
}

/** What the filter sends for `exception`. */
function reply(exception: unknown): { status: number; body: unknown } {
  const sent: { status: number; body: unknown } = { status: 0, body: undefined };
  const response = {
    status(code: number) {
      sent.status = code;
      return response;
    },
    header() {
      return response;
    },
    send(body: unknown) {
      sent.body = body;
    },
  };
  const host = { switchToHttp: () => ({ getResponse: () => response }) } as unknown as ArgumentsHost;
  new HttpExceptionFilter().catch(exception, host);
  return sent;
}

async function thrownBy(work: () => Promise<unknown>): Promise<unknown> {
  try {
    await work();
  } catch (error) {
    return error;
  }
  throw new Error('nothing was thrown');
}

describe('HttpExceptionFilter', () => {
  const logError = Logger.prototype.error;
  let logged: unknown[];
  beforeEach(() => {
    logged = [];
    Logger.prototype.error = (message: unknown) => void logged.push(message);
  });
  afterEach(() => {
    Logger.prototype.error = logError;
  });

  it.each([
    [new ThingNotFoundError(), 404, 'Not Found', 'Thing 7 not found'],
    [new ThingTakenError(), 409, 'Conflict', 'Thing 7 already exists'],
    [new BadThingError(), 400, 'Bad Request', 'things must not repeat'],
    [new ConflictException('Nest exceptions still map as they are'), 409, 'Conflict', 'Nest exceptions still map as they are'],
  ])('maps %p in the one error shape', (exception, statusCode, error, message) => {
    expect(reply(exception)).toEqual({ status: statusCode, body: { statusCode, error, message } });
    expect(logged).toEqual([]);
  });

  it('answers a unique violation a module declared as a 409 with that module’s error', async () => {
    const error = await thrownBy(() =>
      onUniqueViolation({ Thing_key: () => new ThingTakenError() }, () => Promise.reject(uniqueViolation('Thing_key'))),
    );
    expect(error).toBeInstanceOf(ThingTakenError);
    expect(reply(error)).toEqual({
      status: 409,
      body: { statusCode: 409, error: 'Conflict', message: 'Thing 7 already exists' },
    });
  });

  it('answers any other unique violation with a 500, and logs it with its constraint', async () => {
    const error = await thrownBy(() =>
      onUniqueViolation({ Thing_key: () => new ThingTakenError() }, () => Promise.reject(uniqueViolation('Other_key'))),
    );
    expect(error).toBeInstanceOf(QueryFailedError);
    expect(reply(error)).toEqual({
      status: 500,
      body: { statusCode: 500, error: 'Internal Server Error', message: 'Internal server error' },
    });
    expect(logged[0]).toBe('Unique violation of an undeclared constraint: "Other_key"');
    expect(String(logged[1])).toContain('duplicate key value violates unique constraint "Other_key"');
  });

  it('passes other errors through onUniqueViolation untouched', async () => {
    const failure = new Error('boom');
    expect(await thrownBy(() => onUniqueViolation({}, () => Promise.reject(failure)))).toBe(failure);
    expect(await onUniqueViolation({}, () => Promise.resolve(42))).toBe(42);
  });
});
