import { BadRequestException, type ValidationError, ValidationPipe } from '@nestjs/common';

/** Unknown fields are rejected, types converted, and every problem listed in readable form. */
export function createValidationPipe(): ValidationPipe {
  return new ValidationPipe({
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
