import { type ArgumentMetadata, type ValidationError, ValidationPipe } from '@nestjs/common';
import { type FieldProblem, ValidationFailedException } from '../errors/problem.js';

/**
 * Path parameters are left to their own pipes (`IdParamPipe`): converting them here first would
 * turn "abc" into NaN and "1e3" into 1000 before anything could refuse them.
 *
 * A query parameter given empty (`?limit=&after=`, as a form or a URL template writes it) is as if
 * it were not given: `limit` takes its default, `after` is the first page, an empty filter filters
 * nothing, and an empty required one is reported as required.
 */
class BodyAndQueryValidationPipe extends ValidationPipe {
  override async transform(value: unknown, metadata: ArgumentMetadata): Promise<unknown> {
    if (metadata.type === 'param') return value;
    if (metadata.type === 'query' && typeof value === 'object' && value !== null) {
      return super.transform(withoutEmpty(value as Record<string, unknown>), metadata);
    }
    return super.transform(value, metadata);
  }
}

function withoutEmpty(query: Record<string, unknown>): Record<string, unknown> {
  if (!Object.values(query).includes('')) return query;
  const given: Record<string, unknown> = {};
  for (const [name, value] of Object.entries(query)) if (value !== '') given[name] = value;
  return given;
}

/**
 * Unknown fields are rejected, types converted, and every problem listed per field
 * (`errors: [{field, message}]` in the problem+json answer). A required field that is absent
 * (or null) is reported as "<field> is required", not with whatever rule its absence broke first.
 */
export function createValidationPipe(): ValidationPipe {
  return new BodyAndQueryValidationPipe({
    whitelist: true,
    forbidNonWhitelisted: true,
    transform: true,
    transformOptions: { enableImplicitConversion: false },
    exceptionFactory: (errors: ValidationError[]) => {
      const problems = flatten(errors);
      // A rule may name its own code (class-validator `context: {code}`, e.g. `booking_in_past`):
      // when every problem of the request has that one code, the answer uses it.
      const codes = new Set(problems.map((p) => p.code));
      const [only] = codes;
      return new ValidationFailedException(
        problems.map(({ field, message }) => ({ field, message })),
        codes.size === 1 && only !== undefined ? only : undefined,
      );
    },
  });
}

function flatten(errors: ValidationError[], prefix = ''): Array<FieldProblem & { code?: string }> {
  const problems: Array<FieldProblem & { code?: string }> = [];
  for (const error of errors) {
    const field = prefix ? `${prefix}.${error.property}` : error.property;
    const rules = Object.entries(error.constraints ?? {});
    if (rules.some(([rule]) => rule === 'whitelistValidation')) {
      problems.push({ field, message: `property ${field} is not allowed` });
    } else if (rules.length > 0 && (error.value === undefined || error.value === null)) {
      // Optional fields (@IsOptional) are never validated when absent, so any broken rule here
      // means a required field is missing.
      problems.push({ field, message: `${field} is required` });
    } else {
      for (const [rule, text] of rules) {
        const code = (error.contexts?.[rule] as { code?: unknown } | undefined)?.code;
        problems.push({
          field,
          message: text.replace(error.property, field),
          ...(typeof code === 'string' ? { code } : {}),
        });
      }
    }
    if (error.children?.length) problems.push(...flatten(error.children, field));
  }
  return problems;
}
