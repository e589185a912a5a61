// semver ships no types and only `satisfies` is used (loader test).
declare module 'semver' {
  const semver: { satisfies(version: string, range: string): boolean };
  export default semver;
}
