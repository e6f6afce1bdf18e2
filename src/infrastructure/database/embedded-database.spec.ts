import { chmodSync, mkdirSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { unreachableDirectory, unreachableMessage } from './embedded-database.js';

describe('embedded PostgreSQL under root: can the postgres user reach its files?', () => {
  const base = mkdtempSync(join(tmpdir(), 'calsync-embedded-'));
  chmodSync(base, 0o755);
  const home = join(base, 'home');
  const target = join(home, 'project', '.data', 'postgres');
  mkdirSync(join(home, 'project', '.data'), { recursive: true });
  const owner = statSync(base).uid;
  const stranger = { uid: owner + 54321, gids: [owner + 54321] };
  afterAll(() => rmSync(base, { recursive: true, force: true }));

  it('names a 0700 home directory on the way, with its mode', () => {
    chmodSync(home, 0o700);
    expect(unreachableDirectory(target, stranger)).toEqual({ path: home, mode: 0o700 });
    // A user that does not exist yet is "other" everywhere.
    expect(unreachableDirectory(target, null)).toEqual({ path: home, mode: 0o700 });
    // Its owner gets in.
    expect(unreachableDirectory(target, { uid: owner, gids: [] })).toBeNull();
  });

  it('lets the user through directories others (or its group) may enter', () => {
    chmodSync(home, 0o711);
    expect(unreachableDirectory(target, stranger)).toBeNull();
    chmodSync(home, 0o710);
    expect(unreachableDirectory(target, { uid: stranger.uid, gids: [statSync(home).gid] })).toBeNull();
    expect(unreachableDirectory(target, stranger)).toEqual({ path: home, mode: 0o710 });
  });

  it('says what to do instead of dying on spawn EACCES', () => {
    const message = unreachableMessage({ path: '/root', mode: 0o700 }, '/root/app/.data/postgres');
    expect(message).toContain('cannot enter /root (mode 0700)');
    expect(message).toContain('DATABASE_URL');
    expect(message).toContain('ordinary user');
    expect(message).toContain('chmod o+x /root');
  });
});
