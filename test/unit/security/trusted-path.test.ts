/**
 * The trusted-path rule (issue 10, item 5) as an attacker without root meets it: real files with
 * real owners and modes, the attacker's writes done as user nobody (setpriv), and root's side
 * through the real entry points — `msgha validate` rules, loadCluster, execProgram right before
 * a run, an Application resource's online. Whatever the attacker wrote must never run.
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checkTrustedPath } from '../../../plugin/core/trusted-path';
import { configurationFault, execProgram, FORBIDDEN_ENV } from '../../../plugin/core/exec';
import { loadCluster } from '../../../plugin/config/load';
import { validateDefinition } from '../../../plugin/config/validate';
import { commandProbe } from '../../../probes/command';
import { getResourceType } from '../../../plugin/resource-types';
import { agentContext, resolvedResource } from '../../contract/agent-context';

const NOBODY = 65534;
const ROOT_DIR = `/tmp/mh-trust-${process.pid}`;
const at = (...p: string[]): string => path.join(ROOT_DIR, ...p);

/** Runs argv as user nobody, without any capability (the attacker). */
function asNobody(argv: string[], input?: string): { status: number | null; stderr: string } {
  const r = spawnSync('setpriv', ['--reuid=65534', '--regid=65534', '--clear-groups', '--inh-caps=-all', ...argv], { input, encoding: 'utf8' });
  return { status: r.status, stderr: r.stderr };
}

function writeFile(file: string, text: string, mode: number, uid = 0): string {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, text);
  fs.chmodSync(file, mode);
  fs.chownSync(file, uid, uid === 0 ? 0 : NOBODY);
  return file;
}

function dir(p: string, mode: number, uid = 0): string {
  fs.mkdirSync(p, { recursive: true });
  fs.chmodSync(p, mode);
  fs.chownSync(p, uid, uid === 0 ? 0 : NOBODY);
  return p;
}

/** A script that leaves `marker` behind if it ever runs. */
const payload = (marker: string): string => `#!/bin/sh\n/usr/bin/touch ${marker}\necho payload ran\n`;

/** The trust problems validation reports for one Application resource with `attrs`. */
function validationOf(attrs: Record<string, unknown>): { attribute: string; message: string; hint?: string; severity: string }[] {
  const def = {
    cluster: { name: 'mail', nodes: ['mx1'] },
    groups: { g: { resources: { app: { type: 'Application', StartProgram: '/bin/true', PidFiles: ['/run/x.pid'], ...attrs } } } },
  };
  return validateDefinition(def, 'trust.json').problems.filter((p) => p.where === 'g/app');
}

beforeAll(() => {
  fs.rmSync(ROOT_DIR, { recursive: true, force: true });
  dir(ROOT_DIR, 0o755);
  dir(at('bin'), 0o755);
  writeFile(at('bin', 'ok.sh'), '#!/bin/sh\necho trusted ran\n', 0o755);
  writeFile(at('bin', 'world.sh'), '#!/bin/sh\necho world ran\n', 0o757);
  writeFile(at('bin', 'group.sh'), '#!/bin/sh\necho group ran\n', 0o775);
  dir(at('nobody-dir'), 0o755, NOBODY);
  writeFile(at('nobody-dir', 'prog.sh'), '#!/bin/sh\necho prog ran\n', 0o755);
  dir(at('open-dir'), 0o777);
  writeFile(at('open-dir', 'prog.sh'), '#!/bin/sh\necho open ran\n', 0o755);
  dir(at('sticky'), 0o1777);
  writeFile(at('sticky', 'root-prog.sh'), '#!/bin/sh\necho sticky ran\n', 0o755);
  writeFile(at('sticky', 'nobody-prog.sh'), '#!/bin/sh\necho nobody ran\n', 0o755, NOBODY);
  fs.symlinkSync(at('bin', 'world.sh'), at('bin', 'link-to-world.sh'));
  fs.symlinkSync('ok.sh', at('bin', 'link-to-ok.sh'));
  fs.symlinkSync(at('bin', 'ok.sh'), at('sticky', 'link-by-nobody.sh'));
  fs.lchownSync(at('sticky', 'link-by-nobody.sh'), NOBODY, NOBODY);
  fs.symlinkSync(at('nobody-dir'), at('bin', 'link-to-nobody-dir'));
});

afterAll(() => {
  fs.rmSync(ROOT_DIR, { recursive: true, force: true });
});

describe('the rule on real files', () => {
  const cases: { name: string; file: () => string; breach?: { path: () => string; rule: RegExp; via?: RegExp } }[] = [
    { name: 'a root-owned 0755 program in root-owned 0755 directories', file: () => at('bin', 'ok.sh') },
    { name: 'a world-writable program', file: () => at('bin', 'world.sh'), breach: { path: () => at('bin', 'world.sh'), rule: /writable by others \(mode 0757\)/ } },
    { name: 'a group-writable program', file: () => at('bin', 'group.sh'), breach: { path: () => at('bin', 'group.sh'), rule: /writable by its group, gid 0 \(mode 0775\)/ } },
    { name: 'a parent directory owned by nobody', file: () => at('nobody-dir', 'prog.sh'), breach: { path: () => at('nobody-dir'), rule: /owned by uid 65534, not by root/ } },
    { name: 'a parent directory writable by all, no sticky bit', file: () => at('open-dir', 'prog.sh'), breach: { path: () => at('open-dir'), rule: /writable by others \(mode 0777\)/ } },
    { name: 'a root-owned program in a sticky directory (like /tmp)', file: () => at('sticky', 'root-prog.sh') },
    { name: 'a program owned by nobody in a sticky directory', file: () => at('sticky', 'nobody-prog.sh'), breach: { path: () => at('sticky', 'nobody-prog.sh'), rule: /owned by uid 65534/ } },
    { name: 'a symlink to a world-writable file', file: () => at('bin', 'link-to-world.sh'),
      breach: { path: () => at('bin', 'world.sh'), rule: /writable by others/, via: /link-to-world\.sh → .*world\.sh/ } },
    { name: 'a relative symlink to a trusted file', file: () => at('bin', 'link-to-ok.sh') },
    { name: 'a symlink that nobody owns (it may replace it in the sticky directory)', file: () => at('sticky', 'link-by-nobody.sh'),
      breach: { path: () => at('sticky', 'link-by-nobody.sh'), rule: /owned by uid 65534/ } },
    { name: 'a trusted symlink into a directory nobody owns', file: () => at('bin', 'link-to-nobody-dir', 'prog.sh'),
      breach: { path: () => at('nobody-dir'), rule: /owned by uid 65534/, via: /link-to-nobody-dir → / } },
  ];
  for (const c of cases) {
    it(c.name, () => {
      const r = checkTrustedPath(c.file());
      if (!c.breach) {
        expect(r).toMatchObject({ ok: true });
        return;
      }
      expect(r.ok).toBe(false);
      if (r.ok) return;
      expect(r.breach.path).toBe(c.breach.path());
      expect(r.breach.rule).toMatch(c.breach.rule);
      expect(r.breach.fix).toBe(`chown root:root ${c.breach.path()}; chmod go-w ${c.breach.path()}`);
      if (c.breach.via) expect(r.breach.via.join(' ')).toMatch(c.breach.via);
    });
  }

  it('allows the documented owner: the User a program runs as', () => {
    expect(checkTrustedPath(at('nobody-dir', 'prog.sh'), { owners: [NOBODY] })).toMatchObject({ ok: true });
  });
});

describe('msgha validate reports a breach as an error naming the resource, the attribute, the path and the fix', () => {
  for (const attr of ['StartProgram', 'StopProgram', 'CleanProgram', 'MonitorProgram']) {
    it(`${attr}: a world-writable program`, () => {
      const found = validationOf({ [attr]: `${at('bin', 'world.sh')} --flag` }).filter((p) => p.attribute === attr);
      expect(found).toEqual([expect.objectContaining({ severity: 'error', attribute: attr, message: expect.stringContaining(`program ${at('bin', 'world.sh')} is not trusted`) })]);
      expect(found[0]!.hint).toBe(`chown root:root ${at('bin', 'world.sh')}; chmod go-w ${at('bin', 'world.sh')}`);
    });
  }
  it('a parent directory writable by nobody names the directory', () => {
    const [p] = validationOf({ StartProgram: at('nobody-dir', 'prog.sh') }).filter((x) => x.attribute === 'StartProgram');
    expect(p?.message).toContain(`${at('nobody-dir')} is owned by uid 65534, not by root (on the way to ${at('nobody-dir', 'prog.sh')})`);
  });
  it('a root-owned 0755 program gives no problem at all', () => {
    expect(validationOf({ StartProgram: `${at('bin', 'ok.sh')} start`, MonitorProgram: at('bin', 'link-to-ok.sh') }).filter((p) => /Program/.test(p.attribute))).toEqual([]);
  });
  it('an EnvFile: world-writable, then root-owned but setting BASH_ENV or LD_PRELOAD', () => {
    const open = writeFile(at('env', 'open.env'), 'A=1\n', 0o646);
    expect(validationOf({ EnvFile: open }).filter((x) => x.attribute === 'EnvFile')).toEqual([expect.objectContaining({ severity: 'error', attribute: 'EnvFile', message: expect.stringMatching(/EnvFile .*open\.env is not trusted: .* writable by others/) })]);
    const bash = writeFile(at('env', 'bash.env'), 'A=1\nexport BASH_ENV=/tmp/x\nLD_PRELOAD=/tmp/x.so\n', 0o644);
    const [p] = validationOf({ EnvFile: bash }).filter((x) => x.attribute === 'EnvFile');
    expect(p).toMatchObject({ severity: 'error', attribute: 'EnvFile' });
    expect(p!.message).toContain('sets BASH_ENV, LD_PRELOAD');
  });
});

describe('root refuses right before the run, and the attacker\'s code never runs', () => {
  it('a root-owned 0755 program still runs', async () => {
    const r = await execProgram([at('bin', 'ok.sh')], { timeoutMs: 10_000 });
    expect(r).toMatchObject({ code: 0, stdout: 'trusted ran\n' });
  });

  it('a world-writable program that nobody rewrote is refused as a configuration fault', async () => {
    const marker = at('marker-world');
    const target = writeFile(at('bin', 'victim.sh'), '#!/bin/sh\necho victim\n', 0o757);
    expect(asNobody(['/usr/bin/tee', target], payload(marker)).status).toBe(0);
    const r = await execProgram([target], { timeoutMs: 10_000 });
    expect(r.spawnError?.code).toBe('EUNTRUSTED');
    expect(configurationFault(r)).toBe(true);
    expect(r.spawnError?.message).toContain(`program ${target} is not trusted: ${target} is writable by others (mode 0757)`);
    expect(r.spawnError?.message).toContain(`fix: chown root:root ${target}; chmod go-w ${target}`);
    expect(r.spawnError?.message).not.toMatch(/\n\s+at /);
    expect(fs.existsSync(marker)).toBe(false);
  });

  it('a program in a directory nobody owns, swapped by nobody, is refused', async () => {
    const marker = at('marker-swap');
    const d = at('nobody-dir');
    expect(asNobody(['/usr/bin/tee', path.join(d, 'evil.sh')], payload(marker)).status).toBe(0);
    expect(asNobody(['/bin/chmod', '755', path.join(d, 'evil.sh')]).status).toBe(0);
    expect(asNobody(['/bin/mv', '-f', path.join(d, 'evil.sh'), path.join(d, 'prog.sh')]).status).toBe(0);
    const r = await execProgram([path.join(d, 'prog.sh')], { timeoutMs: 10_000 });
    expect(r.spawnError?.code).toBe('EUNTRUSTED');
    expect(fs.existsSync(marker)).toBe(false);
  });

  it('a symlink to a writable file is refused', async () => {
    const r = await execProgram([at('bin', 'link-to-world.sh')], { timeoutMs: 10_000 });
    expect(r.spawnError?.code).toBe('EUNTRUSTED');
    expect(r.spawnError?.message).toContain('reached through');
  });

  it('a bare program name found through a PATH the EnvFile points at a directory nobody owns', async () => {
    writeFile(at('nobody-dir', 'mytool'), '#!/bin/sh\necho tool\n', 0o755, NOBODY);
    const env = writeFile(at('env', 'path.env'), `PATH=${at('nobody-dir')}:/usr/bin:/bin\n`, 0o644);
    const r = await execProgram(['mytool'], { timeoutMs: 10_000, envFile: env });
    expect(r.spawnError?.code).toBe('EUNTRUSTED');
    expect(r.spawnError?.message).toContain(`${at('nobody-dir')} is owned by uid 65534`);
  });

  it('a world-writable EnvFile into which nobody wrote BASH_ENV: refused, the script never sourced', async () => {
    const marker = at('marker-bashenv');
    writeFile(at('attacker.sh'), `/usr/bin/touch ${marker}\n`, 0o644, NOBODY);
    const env = writeFile(at('env', 'shared.env'), 'MAIL_HOME=/srv/mail\n', 0o666);
    const bashProgram = writeFile(at('bin', 'start-bash.sh'), '#!/bin/bash\necho started\n', 0o755);
    expect(asNobody(['/usr/bin/tee', '-a', env], `BASH_ENV=${at('attacker.sh')}\n`).status).toBe(0);
    const r = await execProgram([bashProgram], { timeoutMs: 10_000, envFile: env });
    expect(r.spawnError?.code).toBe('EENVFILE');
    expect(r.spawnError?.message).toMatch(/EnvFile .*shared\.env is not trusted: .* writable by others \(mode 0666\)/);
    expect(fs.existsSync(marker)).toBe(false);
  });

  it('a root-owned EnvFile that sets BASH_ENV is refused too, and every forbidden variable is', async () => {
    const marker = at('marker-bashenv-2');
    writeFile(at('attacker2.sh'), `/usr/bin/touch ${marker}\n`, 0o644);
    const bashProgram = at('bin', 'start-bash.sh');
    const env = writeFile(at('env', 'root.env'), `BASH_ENV=${at('attacker2.sh')}\n`, 0o644);
    const r = await execProgram([bashProgram], { timeoutMs: 10_000, envFile: env });
    expect(r.spawnError?.code).toBe('EENVFILE');
    expect(r.spawnError?.message).toContain('sets BASH_ENV, which changes how programs start: refused');
    expect(fs.existsSync(marker)).toBe(false);
    for (const key of [...FORBIDDEN_ENV, 'LD_AUDIT', 'LD_LIBRARY_PATH']) {
      writeFile(env, `export ${key}="x"\n`, 0o644);
      const each = await execProgram(['/bin/true'], { timeoutMs: 10_000, envFile: env });
      expect(each.spawnError?.message, key).toContain(`sets ${key}`);
    }
  });

  it('a ContainerName that is a path never reaches ip netns exec', async () => {
    const r = await execProgram(['/bin/true'], { timeoutMs: 10_000, containerName: '../../../proc/1/ns/net' });
    expect(r.spawnError?.code).toBe('ECONTAINER');
    expect(configurationFault(r)).toBe(true);
  });

  it('the command probe reports an untrusted program as a configuration error', async () => {
    const r = await commandProbe([at('bin', 'world.sh')], { timeoutMs: 10_000 });
    expect(r).toMatchObject({ outcome: 'fail', configurationError: true });
    expect(r.reason).toContain('is not trusted');
  });

  it('an Application whose StartProgram nobody can change is not started', async () => {
    const app = getResourceType('Application')!;
    const ctx = agentContext(resolvedResource('Application', 'trust', {
      StartProgram: at('bin', 'world.sh'), PidFiles: [at('run', 'none.pid')], OnlineTimeout: 5, OfflineTimeout: 5, CleanTimeout: 5,
    }));
    const r = await app.online(ctx);
    expect(r.ok).toBe(false);
    expect(r.reason).toContain(`program ${at('bin', 'world.sh')} is not trusted`);
  });

  it('a program owned by the User it runs as is allowed (nothing to gain)', async () => {
    writeFile(at('nobody-dir', 'own.sh'), '#!/bin/sh\n/usr/bin/id -u\n', 0o755, NOBODY);
    const r = await execProgram([at('nobody-dir', 'own.sh')], { timeoutMs: 10_000, user: 'nobody' });
    expect(r).toMatchObject({ code: 0, stdout: `${NOBODY}\n` });
  });
});

describe('the cluster file', () => {
  const def = { cluster: { name: 'mail', nodes: ['mx1'] }, groups: { g: { resources: { a: { type: 'Application', StartProgram: '/bin/true', PidFiles: ['/run/a.pid'] } } } } };

  it('a world-writable .config.js is neither executed nor accepted', async () => {
    const marker = at('marker-config');
    const file = writeFile(at('conf', 'cluster.config.js'), `require('fs').writeFileSync(${JSON.stringify(marker)}, 'ran');\nmodule.exports = ${JSON.stringify(def)};\n`, 0o666);
    const r = await loadCluster(file);
    expect(r.cluster).toBeUndefined();
    expect(r.problems).toEqual([expect.objectContaining({ where: 'file', message: expect.stringContaining(`cluster file ${file} is not trusted: ${file} is writable by others (mode 0666)`) })]);
    expect(r.problems[0]!.message).toContain('it was not executed');
    expect(r.problems[0]!.hint).toBe(`chown root:root ${file}; chmod go-w ${file}`);
    expect(fs.existsSync(marker)).toBe(false);
  });

  it('a .config.js in a directory nobody owns is refused; a root-owned 0644 one loads', async () => {
    const bad = writeFile(at('nobody-dir', 'cluster.config.js'), `module.exports = ${JSON.stringify(def)};\n`, 0o644);
    const r = await loadCluster(bad);
    expect(r.cluster).toBeUndefined();
    expect(r.problems[0]!.message).toContain(`${at('nobody-dir')} is owned by uid 65534`);
    const good = writeFile(at('conf', 'good.config.js'), `module.exports = ${JSON.stringify(def)};\n`, 0o644);
    const ok = await loadCluster(good);
    expect(ok.problems.filter((p) => p.severity === 'error')).toEqual([]);
    expect(ok.cluster?.groups[0]?.name).toBe('g');
  });

  it('a group-writable .json is refused, and its other problems are still listed', async () => {
    const file = writeFile(at('conf', 'cluster.json'), JSON.stringify({ ...def, cluster: { name: 'mail', nodes: ['mx1'], lease: { profile: 'slow' } } }), 0o664);
    const r = await loadCluster(file);
    expect(r.cluster).toBeUndefined();
    expect(r.problems.map((p) => `${p.where}: ${p.attribute}`)).toEqual(expect.arrayContaining(['file: ', 'cluster: lease.profile']));
  });
});
