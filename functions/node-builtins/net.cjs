// node:net for the bundles; see README.md here.
module.exports = process.getBuiltinModule('node:net');
