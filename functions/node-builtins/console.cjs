// node:console for the bundles (Powertools Logger and Metrics build a Console of their own); see README.md here.
module.exports = process.getBuiltinModule('node:console');
