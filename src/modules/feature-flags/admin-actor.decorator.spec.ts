import { BadRequestException } from '@nestjs/common';
import { parseActor } from './admin-actor.decorator.js';

describe('parseActor', () => {
  it.each([
    [undefined, 'admin-api'],
    ['', 'admin-api'],
    ['   ', 'admin-api'],
    ['alice', 'alice'],
    ['  bob@example.com\t', 'bob@example.com'],
    ['Zoë (ops)', 'Zoë (ops)'],
    ['x'.repeat(100), 'x'.repeat(100)],
  ])('%p -> %p', (header, actor) => {
    expect(parseActor(header)).toBe(actor);
  });

  it.each([['x'.repeat(101)], ['eve\u0000'], ['a\u001bb'], ['zero\u200bwidth'], [['alice', 'bob']]])('refuses %p', (header) => {
    expect(() => parseActor(header)).toThrow(BadRequestException);
  });
});
