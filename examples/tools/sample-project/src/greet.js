// The sample project `uet-gateway simulate --real` gives its workers (--repo): the demo agent fixes its to-do,
// the demo lint tool finds it (and the long line) in the tasks that run before or beside it.
export function greet(name) {
  return `Hello, ${name}!`; // TODO: trim the name
}

export const GREETINGS_IN_OTHER_LANGUAGES_ARE_NOT_WRITTEN_YET = ['Bonjour', 'Hallo', 'Hola', 'Ciao', 'Olá', 'Hej'];
