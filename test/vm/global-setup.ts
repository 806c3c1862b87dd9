// vitest globalSetup of the "vm" project: builds or finds the cached lab and hands its paths to the tests
// (inject('lab') in a test; also <repo>/test-output/lab.json). Throws, never skips, when the lab cannot run.
import type { TestProject } from 'vitest/node';
import { ensureLab, type Lab } from './lab/index.js';
import { releaseFromEnv } from './lab/release.js';

declare module 'vitest' {
  export interface ProvidedContext {
    lab: Lab;
  }
}

export default async function setup(project: TestProject): Promise<void> {
  // Debian 13 (trixie) guests; IMGBASED_LAB_RELEASE=bookworm (or 12) runs the VM tests on Debian 12 guests.
  const lab = await ensureLab(undefined, { release: releaseFromEnv() });
  process.stderr.write(
    `lab: ${lab.release} ready in ${lab.setupSeconds.toFixed(1)}s (cache ${lab.cacheDir}, project ${lab.keys.project})\n`,
  );
  project.provide('lab', lab);
}
