// node:async_hooks for the bundles; see README.md here.
module.exports = process.getBuiltinModule('node:async_hooks');
