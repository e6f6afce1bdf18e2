import { CommandHandler, type ICommandHandler } from '@nestjs/cqrs';
import { DataSource } from 'typeorm';
import { onUniqueViolation } from '../../../common/errors/unique-violation.js';
import { insertWithOptionalId } from '../../../infrastructure/database/insert-with-optional-id.js';
import { USER_EMAIL_KEY, USER_ID_KEY, UnknownTimeZoneError, UserEmailTakenError, UserIdTakenError } from '../accounts.errors.js';
import { UserEntity } from '../entities/user.entity.js';
import { CreateUserCommand } from './create-user.command.js';

@CommandHandler(CreateUserCommand)
export class CreateUserHandler implements ICommandHandler<CreateUserCommand> {
  private databaseZones?: Promise<Set<string>>;

  constructor(private readonly dataSource: DataSource) {}

  async execute({ input }: CreateUserCommand): Promise<UserEntity> {
    const email = input.email.trim().toLowerCase();
    const { id } = input;
    await this.assertDatabaseKnowsZone(input.timeZone);
    const races = {
      [USER_EMAIL_KEY]: () => new UserEmailTakenError(email),
      ...(id ? { [USER_ID_KEY]: () => new UserIdTakenError(id) } : {}),
    };
    return onUniqueViolation(races, () =>
      this.dataSource.transaction(async (manager) => {
        const clash = await manager
          .createQueryBuilder(UserEntity, 'u')
          .where('lower(u.email) = :email', { email })
          .orWhere(id ? 'u.id = :id' : 'false', { id })
          .getOne();
        if (clash) throw clash.id === id ? new UserIdTakenError(clash.id) : new UserEmailTakenError(email);
        const created = await insertWithOptionalId(manager, 'User', id, {
          email,
          name: input.name ?? null,
          timeZone: input.timeZone,
        });
        return manager.findOneByOrFail(UserEntity, { id: created });
      }),
    );
  }

  /**
   * The DTO checked the zone with Intl; PostgreSQL, which places a user's all-day busy events in it,
   * knows a slightly different set (ICU accepts "VST" or "SystemV/AST4", PostgreSQL does not). And
   * `AT TIME ZONE` reads an abbreviation before a zone name: "CET", "EET", "MET" and "WET" are zones
   * with summer time for Intl but fixed offsets for PostgreSQL, so a cached answer and a live one
   * would differ by an hour half the year. So: a zone name PostgreSQL knows and that is not one of
   * its abbreviations, or one whose abbreviation means the same fixed offset. The names are read
   * once (the view reads the zone files: ~30 ms) and kept: they change only with the server's time
   * zone data, which needs a restart of it.
   */
  private async assertDatabaseKnowsZone(timeZone: string): Promise<void> {
    this.databaseZones ??= this.dataSource
      .query(
        `SELECT lower("name") AS "zone" FROM pg_timezone_names
         EXCEPT SELECT lower("abbrev") FROM pg_timezone_abbrevs WHERE lower("abbrev") <> ALL ($1::text[])`,
        [SAME_AS_ABBREVIATION],
      )
      .then((rows: Array<{ zone: string }>) => new Set(rows.map((row) => row.zone)));
    let zones: Set<string>;
    try {
      zones = await this.databaseZones;
    } catch (error) {
      this.databaseZones = undefined;
      throw error;
    }
    if (!zones.has(timeZone.toLowerCase())) throw new UnknownTimeZoneError(timeZone);
  }
}

/** Zone names that are also PostgreSQL abbreviations of the same fixed offset (no summer time either way). */
const SAME_AS_ABBREVIATION = ['utc', 'uct', 'gmt', 'zulu', 'est', 'mst', 'hst'];
