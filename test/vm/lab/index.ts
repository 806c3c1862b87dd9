// The VM lab's public API (see README.md in this folder).
export { ensureLab, checkPrerequisites, type Lab } from './lab.js';
export { boot, overlay, expectDone, expectMarker, outFile, failure, retryKernelCrash, BASE_APPEND, type BootOptions, type BootResult } from './runner.js';
export { parseMarkers, stripEscapes, tail, grubMenu, grubMenuEntries, type GrubEntry } from './markers.js';
export { HOST_APPEND } from './provision.js';
export type { DiskSpec } from './qemu.js';
