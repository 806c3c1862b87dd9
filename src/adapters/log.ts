// One logger for both halves: stderr for the CLI; the initramfs adds /dev/kmsg via setSink.
type Sink = (line: string) => void;

let debugOn = false;
let sink: Sink = (line) => process.stderr.write(`${line}\n`);

export function setDebug(on: boolean): void {
  debugOn = on;
}

export function isDebug(): boolean {
  return debugOn;
}

export function setSink(next: Sink): void {
  sink = next;
}

export const log = {
  debug(msg: string): void {
    // Elapsed time since start: under TCG the question is usually "where did the seconds go".
    if (debugOn) sink(`imgbase: debug: +${(performance.now() / 1000).toFixed(2)}s ${msg}`);
  },
  info(msg: string): void {
    sink(`imgbase: ${msg}`);
  },
  warn(msg: string): void {
    sink(`imgbase: warning: ${msg}`);
  },
};
