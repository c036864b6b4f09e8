// The workspace compiles with TypeScript 7, which has no JavaScript compiler API. The doc generator and the lint
// parser call that API, so they get TypeScript 5 as their own dependency instead of the workspace's as a peer.
const TYPESCRIPT_API = "5.9.3"

const usesCompilerApi = (name) =>
  name === "@effect/docgen" || name === "typescript-eslint" || name.startsWith("@typescript-eslint/") ||
  name === "ts-api-utils"

module.exports = {
  hooks: {
    readPackage(pkg) {
      if (usesCompilerApi(pkg.name) && pkg.peerDependencies?.typescript !== undefined) {
        delete pkg.peerDependencies.typescript
        if (pkg.peerDependenciesMeta) delete pkg.peerDependenciesMeta.typescript
        pkg.dependencies = { ...pkg.dependencies, typescript: TYPESCRIPT_API }
      }
      return pkg
    }
  }
}
