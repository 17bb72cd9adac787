/**
 * The `eventjobs` command. `init`, `dev` and `types` work on an app's folder
 * (cli/app/); every other command talks to the jobs API (cli/main.ts). Each
 * side is loaded only when used, so an API call starts quickly.
 */
export {};

const argv = process.argv.slice(2);
const appCommands = new Set(['init', 'dev', 'types']);

if (argv[0] !== undefined && appCommands.has(argv[0])) {
  const { runAppCommand } = await import('../cli/app/main');
  process.exitCode = await runAppCommand(argv);
} else {
  const { main, processDeps } = await import('../cli/main');
  process.exitCode = await main(argv, processDeps());
}
