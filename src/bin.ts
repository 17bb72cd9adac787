/**
 * The `eventjobs` command. `init`, `dev` and `types` work on an app's folder
 * (cli/app/); every other command talks to the jobs API (cli/main.ts). Each
 * side is loaded only when used, so an API call starts quickly.
 */
import { runMain } from '../cli/run-main';

const appCommands = new Set(['init', 'dev', 'types']);

// Each side turns its own errors into a message and an exit status; what reaches runMain is a bug.
void runMain(async (argv) => {
  if (argv[0] !== undefined && appCommands.has(argv[0])) {
    const { runAppCommand } = await import('../cli/app/main');
    return runAppCommand(argv);
  }
  const { main, processDeps } = await import('../cli/main');
  return main(argv, processDeps());
});
