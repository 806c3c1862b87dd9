// vitest globalSetup of the "vm" project: builds or finds the cached lab and hands its paths to the tests
// (inject('lab') in a test; also <repo>/test-output/lab.json). Throws, never skips, when the lab cannot run.
import type { TestProject } from 'vitest/node';
import { ensureLab, type Lab } from './lab/index.js';

declare module 'vitest' {
  export interface ProvidedContext {
    lab: Lab;
  }
}

export default async function setup(project: TestProject): Promise<void> {
  const lab = await ensureLab();
  process.stderr.write(`lab: ready in ${lab.setupSeconds.toFixed(1)}s (cache ${lab.cacheDir}, project ${lab.keys.project})\n`);
  project.provide('lab', lab);
}
