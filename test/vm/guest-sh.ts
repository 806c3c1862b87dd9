// Shell snippets shared by guest scripts (VM tests and the demo). No vitest import: the demo runs outside vitest.

/** `waitassess` waits (at most 400 s) until imgbased-boot-assess.service has judged this boot; prints its state. */
export const WAIT_ASSESS_SH = String.raw`waitassess() {
  local st=
  for i in $(seq 1 400); do
    st=$(systemctl show -p ActiveState --value imgbased-boot-assess.service)
    case $st in active|failed) break;; esac
    sleep 1
  done
  echo "$st"
}
`;
