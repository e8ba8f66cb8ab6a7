/**
 * The node agent's runsc check against the machine's real runsc (Debian's 0.0~20221219.0 here:
 * platforms ptrace and kvm, no systrap): every platform and network mode `GvisorRuntime` renders,
 * and typed flags runsc parses. Needs root and runsc; skipped with the reason otherwise, unless
 * `CI` is set.
 */
import { execFileSync, spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { Chart, Testing } from 'cdk8s';
import { GvisorPlatform, GvisorRuntime, GvisorRuntimeProps } from '../../src';
import { runscProblem, SYSTRAP_FIRST_RELEASE } from '../../src/node-agent/runsc';
import { createHostRoot } from '../support/host-root';
import { assertAvailable, describeIfAvailable, RUNSC, runscUnavailableReason } from '../support/sandbox-runtimes';

/** The runsc flags a class renders into its runsc.toml. */
function renderedFlags(props: GvisorRuntimeProps): { [flag: string]: string } {
  return new GvisorRuntime(new Chart(Testing.app(), 'test'), 'gvisor', props).runscFlags;
}

describeIfAvailable('runscProblem against the real runsc', runscUnavailableReason, () => {
  let release: string;
  let knowsSystrap: boolean;

  beforeAll(() => {
    assertAvailable(runscUnavailableReason);
    release = /runsc version (\S+)/.exec(execFileSync(RUNSC, ['--version'], { encoding: 'utf8' }))![1];
    knowsSystrap = /(\d{8})(\.\d+)?$/.exec(release)![1] >= SYSTRAP_FIRST_RELEASE.slice(0, 8);
  });

  test.each([false, true])('ptrace with hostNetworking %s runs', async (hostNetworking) => {
    const flags = renderedFlags({ platform: GvisorPlatform.PTRACE, hostNetworking });
    expect(flags).toEqual(hostNetworking ? { platform: 'ptrace', network: 'host' } : { platform: 'ptrace' });
    expect(await runscProblem([RUNSC], flags)).toBeUndefined();
  });

  test.each([false, true])('systrap with hostNetworking %s: refused by a runsc that predates it, naming the release and the fix', async (hostNetworking) => {
    const flags = renderedFlags({ hostNetworking }); // the default platform
    expect(flags.platform).toBe('systrap');
    const problem = await runscProblem([RUNSC], flags);
    if (knowsSystrap) {
      expect(problem).toBeUndefined();
    } else {
      expect(problem).toBe(`runsc ${release} on this node does not know platform "systrap" (gVisor added it in release-20230227.0): `
        + 'use GvisorPlatform.PTRACE (or KVM on nodes with a working /dev/kvm), or install a gVisor release from 2023-02-27 (release-20230227.0) or later');
    }
  });

  test('a runsc that predates systrap is refused from its version alone, and by its own answer', async () => {
    // Step 3 alone (a version runsc does not print as a date) reaches the same verdict.
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'runsc-versionless-'));
    const versionless = path.join(dir, 'runsc');
    fs.writeFileSync(versionless, `#!/bin/sh\nfor a in "$@"; do [ "$a" = --version ] && { echo "runsc version custom-build"; exit 0; }; done\nexec ${RUNSC} "$@"\n`, { mode: 0o755 });
    try {
      const problem = await runscProblem([versionless], { platform: 'systrap' });
      if (knowsSystrap) expect(problem).toBeUndefined();
      else expect(problem).toMatch(/^runsc custom-build on this node does not know platform "systrap" .*GvisorPlatform\.PTRACE/);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  test('kvm: refused with the platform named where /dev/kvm does not work', async () => {
    const flags = renderedFlags({ platform: GvisorPlatform.KVM });
    expect(flags).toEqual({ platform: 'kvm' });
    // Whether KVM works here is decided without the agent: runsc itself runs a sandbox on it (this
    // machine has no /dev/kvm; others have one on which runsc's KVM platform hangs, or a working one).
    const direct = spawnSync(RUNSC, ['--platform=kvm', '--network=none', 'do', '/bin/true'], { timeout: 5_000, killSignal: 'SIGKILL', encoding: 'utf8' });
    const kvmWorks = direct.status === 0;
    const problem = await runscProblem([RUNSC], flags, { sandboxTimeoutMs: 5_000 });
    if (kvmWorks) {
      expect(problem).toBeUndefined();
    } else {
      expect(problem).toMatch(new RegExp(`^runsc ${release.replace(/[.~]/g, '\\$&')} on this node (did not finish|cannot run) a test sandbox with platform "kvm"`));
      expect(problem).toContain('GvisorPlatform.SYSTRAP');
    }
    if (!fs.existsSync('/dev/kvm')) expect(kvmWorks).toBe(false);
    // Without the device, runsc says so at once.
    const missing = await runscProblem([RUNSC], { ...flags, platform_device_path: '/dev/no-such-kvm' });
    expect(missing).toMatch(/cannot run a test sandbox with platform "kvm" .*error opening KVM device file \(\/dev\/no-such-kvm\).*: the KVM platform needs a working \/dev\/kvm; use GvisorPlatform\.SYSTRAP there$/);
  });

  test('typed flags runsc knows pass; a bad value, an unknown flag and a value only newer releases know are refused', async () => {
    expect(await runscProblem([RUNSC], renderedFlags({ platform: GvisorPlatform.PTRACE, runscFlags: { overlay2: 'root:memory', debug: 'false' } }))).toBeUndefined();
    expect(await runscProblem([RUNSC], renderedFlags({ platform: GvisorPlatform.PTRACE, runscFlags: { 'file-access': 'shared' } }))).toBeUndefined();
    // runsc's own verdict on a combination: pods with these flags would fail the same way.
    expect(await runscProblem([RUNSC], renderedFlags({ platform: GvisorPlatform.PTRACE, runscFlags: { 'overlay2': 'root:memory', 'file-access': 'shared' } })))
      .toMatch(/cannot run a test sandbox with platform "ptrace" and the runtime's flags \(.*: overlay flag is incompatible with shared file access\)/);

    expect(await runscProblem([RUNSC], { platform: 'ptrace', network: 'sideways' }))
      .toBe(`runsc ${release} on this node rejects the runtime's flags (invalid value "sideways" for flag -network: invalid network type "sideways"): fix the value in the runtime's options or runscFlags`);
    expect(await runscProblem([RUNSC], { platform: 'ptrace', debug: 'maybe' }))
      .toMatch(/rejects the runtime's flags \(invalid boolean value "maybe" for -debug: parse error\)/);
    expect(await runscProblem([RUNSC], { platform: 'ptrace', nvproxy: 'true' }))
      .toBe(`runsc ${release} on this node does not know the flag --nvproxy: remove it from the runtime's runscFlags, or install a gVisor release that has it`);
    // README's example flag: `self` as the overlay medium came after this runsc.
    const self = await runscProblem([RUNSC], renderedFlags({ platform: GvisorPlatform.PTRACE, runscFlags: { overlay2: 'root:self' } }));
    if (!knowsSystrap) expect(self).toMatch(/cannot run a test sandbox with platform "ptrace" and the runtime's flags \(.* --overlay2=root:self .*overlay filestore directory "self".*\): fix the runtime's platform or runscFlags$/);
  });

  test('a runsc that does not run, and a runsc started from a chroot, are reported as such', async () => {
    expect(await runscProblem(['/nonexistent/runsc'], { platform: 'ptrace' }))
      .toMatch(/^runsc does not run on this node \(\/nonexistent\/runsc --version: spawn \/nonexistent\/runsc ENOENT\): install gVisor's runsc there, or fix the runtime's runscPath$/);

    const root = createHostRoot({ nodeMounts: true });
    try {
      const chrooted = await runscProblem(['chroot', root.path, RUNSC], { platform: 'ptrace' });
      expect(chrooted).toMatch(/fork\/exec \/proc\/self\/exe: operation not permitted.*runsc cannot create its sandbox's user namespace from a chroot/);
      // The host's binary run from outside the chroot works.
      expect(await runscProblem([root.resolve(RUNSC)], { platform: 'ptrace' })).toBeUndefined();
    } finally {
      root.cleanup();
    }
  });
});
