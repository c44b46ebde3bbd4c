/**
 * The attack catalog of SECURITY.md part B (../shared/SECURITY.md), by section: the row IDs the
 * security suite must account for. coverage.test.ts checks that each one has a test named by its
 * ID in test/security/ or is listed, with its reason, in test/security/README.md.
 */
const ids = (list: string): readonly string[] => list.split(/\s+/).filter(Boolean);

export const CATALOG: Readonly<Record<string, { readonly title: string; readonly ids: readonly string[] }>> = {
  J: {
    title: 'B.1 JWT and token attacks',
    ids: ids(
      'J-01 J-03 J-04 J-06 J-07 J-09 J-10 J-11 J-13 J-14 J-16 J-17 J-19 J-20 J-21 J-23 J-24 ' +
        'J-26 J-27 J-29 J-29b J-30 J-32 J-33 J-35 J-36 J-38 J-39 J-40 J-42 J-43',
    ),
  },
  S: {
    title: 'B.2 Session and transport attacks',
    ids: ids('S-01 S-02 S-04 S-05 S-06 S-08 S-09 S-11 S-12 S-14 S-15 S-16 S-18 S-19 S-21 S-22 S-24 S-25 S-26 S-28'),
  },
  Z: {
    title: 'B.3 Authorization, tenancy and federation attacks',
    ids: ids('Z-01 Z-03 Z-04 Z-06 Z-07 Z-08 Z-10 Z-11 Z-13 Z-14 Z-16 Z-17 Z-18 Z-20 Z-21 Z-23 Z-24 Z-26 Z-27'),
  },
  V: {
    title: 'B.4 JSON-RPC and input attacks',
    ids: ids(
      'V-01 V-03 V-04 V-06 V-07 V-09 V-10 V-11 V-13 V-14 V-16 V-17 V-19 V-20 V-21 V-23 V-24 ' +
        'V-26 V-27 V-29 V-30 V-31',
    ),
  },
  D: {
    title: 'B.5 Denial of service and rate-limit bypass',
    ids: ids('D-01 D-02 D-04 D-05 D-07 D-08 D-09 D-11 D-12 D-14 D-15 D-17 D-18 D-19'),
  },
  U: {
    title: 'B.6 Upstream, SSRF and token-passthrough attacks',
    ids: ids('U-02 U-03 U-05 U-06 U-08 U-09 U-10 U-12 U-13 U-15 U-16 U-18 U-19 U-20 U-22 U-23'),
  },
  O: {
    title: 'B.7 Output, error and log attacks',
    ids: ids('O-02 O-03 O-05 O-06 O-07 O-09 O-10 O-12 O-13'),
  },
  L: {
    title: 'B.8 Legacy HTTP+SSE attacks',
    ids: ids('L-02 L-03 L-04 L-06 L-07 L-09 L-10'),
  },
  F: {
    title: 'B.9 Forward-compat attacks, 2026-07-28 and draft',
    ids: ids('F-02 F-03 F-04 F-06'),
  },
};
