// node:os for the bundles; see README.md here.
module.exports = process.getBuiltinModule('node:os');
