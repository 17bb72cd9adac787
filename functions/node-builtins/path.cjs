// node:path for the bundles; see README.md here.
module.exports = process.getBuiltinModule('node:path');
