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
    if (debugOn) sink(`imgbase: debug: ${msg}`);
  },
  info(msg: string): void {
    sink(`imgbase: ${msg}`);
  },
  warn(msg: string): void {
    sink(`imgbase: warning: ${msg}`);
  },
};
