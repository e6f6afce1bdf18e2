import { StartupRefusedError } from '../infrastructure/lifecycle/startup-refused.error.js';
import { importOptional } from './optional-import.js';

describe('importOptional', () => {
  it('returns the module when the build has it', async () => {
    const path = await importOptional('node:path', 'unused', () => import('node:path'));
    expect(path.join('a', 'b')).toBe('a/b');
  });

  it('stops start-up with what to do when the build leaves the part out', async () => {
    // What Node's ESM loader throws for a file or package that is not there (jest's own resolver,
    // which runs this spec, throws another error for a real missing import).
    const missing = Object.assign(new Error("Cannot find module '/app/emulators/microsoft/microsoft-graph.emulator.js'"), {
      code: 'ERR_MODULE_NOT_FOUND',
    });
    const refused = importOptional('The Outlook sandbox', 'set SANDBOX=false and MICROSOFT_CLIENT_ID', () =>
      Promise.reject(missing),
    );
    await expect(refused).rejects.toBeInstanceOf(StartupRefusedError);
    await expect(refused).rejects.toThrow(
      'The Outlook sandbox is not part of this build (the Docker image leaves it out): set SANDBOX=false and MICROSOFT_CLIENT_ID',
    );
  });

  it('passes any other failure of the import on as it is', async () => {
    const broken = new Error('the module threw while loading');
    await expect(importOptional('A part', 'unused', () => Promise.reject(broken))).rejects.toBe(broken);
  });
});
