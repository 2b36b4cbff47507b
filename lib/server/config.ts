import path from 'node:path';

/** The projects folder the server was started with (`grimoire start --projects`), else ./projects. */
export function projectsRoot(): string {
  // The folder is chosen at run time; tracing it into the build output would copy user projects.
  return path.resolve(/*turbopackIgnore: true*/ process.env.GRIMOIRE_PROJECTS ?? 'projects');
}
