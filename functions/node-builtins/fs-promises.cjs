// node:fs/promises for the bundles; see README.md here.
module.exports = process.getBuiltinModule('node:fs/promises');
