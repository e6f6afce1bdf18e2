import { type ArgumentMetadata, BadRequestException, type ValidationError, ValidationPipe } from '@nestjs/common';

/**
 * Path parameters are left to their own pipes (`IdParamPipe`): converting them here first would
 * turn "abc" into NaN and "1e3" into 1000 before anything could refuse them.
 */
class BodyAndQueryValidationPipe extends ValidationPipe {
  override async transform(value: unknown, metadata: ArgumentMetadata): Promise<unknown> {
    if (metadata.type === 'param') return value;
    return super.transform(value, metadata);
  }
}

/** Unknown fields are rejected, types converted, and every problem listed in readable form. */
export function createValidationPipe(): ValidationPipe {
  return new BodyAndQueryValidationPipe({
    whitelist: true,
    forbidNonWhitelisted: true,
    transform: true,
    transformOptions: { enableImplicitConversion: false },
    exceptionFactory: (errors: ValidationError[]) => new BadRequestException(flatten(errors)),
  });
}

function flatten(errors: ValidationError[], prefix = ''): string[] {
  const messages: string[] = [];
  for (const error of errors) {
    const path = prefix ? `${prefix}.${error.property}` : error.property;
    if (error.constraints) {
      for (const [rule, text] of Object.entries(error.constraints)) {
        messages.push(rule === 'whitelistValidation' ? `property ${path} is not allowed` : text.replace(error.property, path));
      }
    }
    if (error.children?.length) messages.push(...flatten(error.children, path));
  }
  return messages;
}
