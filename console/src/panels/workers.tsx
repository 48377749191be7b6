import { NotBuilt } from './not-built';

export function Workers() {
  return <NotBuilt title={'Workers'} />;
}
